#include "alloc_counter.hpp"

#include <cstdlib>
#include <new>

namespace {
// Per-thread so concurrently running code elsewhere cannot disturb a count.
thread_local std::size_t t_allocations = 0;

void* counted_alloc(std::size_t n) {
    ++t_allocations;
    if (n == 0) n = 1;
    if (void* p = std::malloc(n)) return p;
    throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace llmproxy::testing {

AllocationCounter::AllocationCounter() : start_(t_allocations) {}
AllocationCounter::~AllocationCounter() = default;
std::size_t AllocationCounter::count() const { return t_allocations - start_; }

}  // namespace llmproxy::testing
