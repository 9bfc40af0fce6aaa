// Counts heap allocations made by the current thread while a scope is active.
// The replaced global operator new lives in alloc_counter.cpp (one per test
// binary): use this header rather than replacing operator new again.
#pragma once

#include <cstddef>

namespace llmproxy::testing {

class AllocationCounter {
public:
    AllocationCounter();
    ~AllocationCounter();
    AllocationCounter(const AllocationCounter&) = delete;
    AllocationCounter& operator=(const AllocationCounter&) = delete;
    // Allocations by this thread since construction.
    std::size_t count() const;

private:
    std::size_t start_;
};

}  // namespace llmproxy::testing
