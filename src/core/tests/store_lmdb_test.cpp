// StoreWriter and StoreReader against a real temporary LMDB environment:
// initialisation, referential checks, key lookup by digest, changes seen by
// an open reader, snapshot caching by transaction id, key resolution.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <lmdb.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/store.hpp"
#include "core/store_internal.hpp"

namespace llmproxy::store {
namespace {

class StoreEnvTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/llmproxy-store-XXXXXX";
        root_ = ::mkdtemp(tmpl);
        dir_ = root_ + "/store";
        auto w = StoreWriter::open(dir_, true);
        ASSERT_TRUE(w.ok()) << w.error().describe();
        writer_ = std::move(w.value());
    }
    void TearDown() override {
        writer_.reset();
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }

    std::unique_ptr<StoreReader> open_reader(std::optional<MasterKey> mk = std::nullopt) {
        auto r = StoreReader::open(dir_, mk);
        EXPECT_TRUE(r.ok()) << r.error().describe();
        return r.ok() ? std::move(r.value()) : nullptr;
    }

    ProviderRecord provider(std::string name) {
        ProviderRecord p;
        p.name = std::move(name);
        p.format = Dialect::kOpenAI;
        p.base_url = "https://api.example.com/v1";
        return p;
    }

    // A new key record with a fresh secret; returns the secret.
    std::string add_key(const std::string& name, KeyRecord* out = nullptr) {
        KeyRecord k;
        k.id = generate_key_id();
        k.name = name;
        std::string secret = generate_key_secret();
        set_key_secret(k, secret);
        k.created_at = 1700000000;
        Status st = writer_->put_key(k, true);
        EXPECT_TRUE(st.ok()) << st.error().describe();
        if (out) *out = k;
        return secret;
    }

    // Writes a raw value with plain LMDB, bypassing StoreWriter's checks.
    void raw_put(const char* db, std::string_view key, std::string_view value) {
        writer_.reset();  // one env per process at a time
        MDB_env* env = *create_env();
        ASSERT_EQ(mdb_env_open(env, dir_.c_str(), 0, 0640), 0);
        MDB_txn* txn = nullptr;
        ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
        MDB_dbi dbi = 0;
        ASSERT_EQ(mdb_dbi_open(txn, db, 0, &dbi), 0);
        MDB_val k = to_val(key), v = to_val(value);
        ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
        ASSERT_EQ(mdb_txn_commit(txn), 0);
        mdb_env_close(env);
    }

    std::string root_, dir_;
    std::unique_ptr<StoreWriter> writer_;
};

TEST_F(StoreEnvTest, InitIsIdempotentAndCreatesFiles) {
    writer_.reset();
    auto again = StoreWriter::open(dir_, true);
    ASSERT_TRUE(again.ok()) << again.error().describe();
    EXPECT_TRUE(std::filesystem::exists(dir_ + "/data.mdb"));
    EXPECT_TRUE(std::filesystem::exists(dir_ + "/lock.mdb"));
    struct stat st {};
    ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0750u);
}

TEST_F(StoreEnvTest, RefusesUninitialisedStore) {
    std::string missing = root_ + "/missing";
    auto w = StoreWriter::open(missing, false);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().describe(), "store at " + missing + " is not initialised; run llmproxy-ctl init");
    EXPECT_FALSE(std::filesystem::exists(missing)) << "a read must not create the store";

    std::filesystem::create_directory(root_ + "/empty");
    auto e = StoreWriter::open(root_ + "/empty", false);
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().describe().find("not initialised"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(root_ + "/empty/data.mdb"));

    auto r = StoreReader::open(root_ + "/empty", std::nullopt);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().describe().find("not initialised"), std::string::npos);
}

TEST_F(StoreEnvTest, RefusesNewerSchema) {
    raw_put(kDbMeta, kSchemaVersionKey, "2");
    auto w = StoreWriter::open(dir_, false);
    ASSERT_FALSE(w.ok());
    EXPECT_NE(w.error().describe().find("schema version 2"), std::string::npos);
    auto init = StoreWriter::open(dir_, true);
    EXPECT_FALSE(init.ok()) << "init must not downgrade a newer store";
    auto r = StoreReader::open(dir_, std::nullopt);
    EXPECT_FALSE(r.ok());
}

TEST_F(StoreEnvTest, ProvidersAndRoutesReferentialChecks) {
    ASSERT_TRUE(writer_->put_provider(provider("deepseek"), true).ok());
    Status dup = writer_->put_provider(provider("deepseek"), true);
    ASSERT_FALSE(dup.ok());
    EXPECT_EQ(dup.error().describe(), "provider 'deepseek' already exists");

    ProviderRecord bad = provider("bad");
    bad.base_url = "ftp://x";
    EXPECT_FALSE(writer_->put_provider(bad, true).ok()) << "the writer re-validates records";

    RouteRecord r;
    r.pattern = "deepseek-*";
    r.targets = {{"deepseek", "deepseek-chat"}, {"nope", "m"}};
    Status unknown = writer_->put_route(r);
    ASSERT_FALSE(unknown.ok());
    EXPECT_NE(unknown.error().describe().find("unknown provider 'nope'"), std::string::npos);

    r.targets.pop_back();
    ASSERT_TRUE(writer_->put_route(r).ok());
    Status in_use = writer_->remove_provider("deepseek");
    ASSERT_FALSE(in_use.ok());
    EXPECT_NE(in_use.error().describe().find("used by route 'deepseek-*'"), std::string::npos);

    auto routes = writer_->list_routes();
    ASSERT_TRUE(routes.ok());
    ASSERT_EQ(routes->size(), 1u);
    EXPECT_EQ((*routes)[0].targets[0].model, "deepseek-chat");

    EXPECT_FALSE(writer_->remove_route("other").ok());
    ASSERT_TRUE(writer_->remove_route("deepseek-*").ok());
    ASSERT_TRUE(writer_->remove_provider("deepseek").ok());
    EXPECT_EQ(writer_->remove_provider("deepseek").error().code, ErrorCode::kNotFound);
    auto gone = writer_->get_provider("deepseek");
    ASSERT_TRUE(gone.ok());
    EXPECT_FALSE(gone->has_value());
}

TEST_F(StoreEnvTest, KeyLookupByDigest) {
    KeyRecord rec;
    std::string secret = add_key("ci", &rec);
    auto reader = open_reader();
    ASSERT_TRUE(reader);
    auto found = reader->find_key(secret);
    ASSERT_TRUE(found.ok()) << found.error().describe();
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->id, rec.id);
    EXPECT_EQ((*found)->name, "ci");
    EXPECT_EQ((*found)->prefix, secret.substr(0, 12));
    EXPECT_EQ((*found)->last4, secret.substr(secret.size() - 4));

    auto wrong = reader->find_key(secret.substr(0, secret.size() - 1) + "!");
    ASSERT_TRUE(wrong.ok());
    EXPECT_FALSE(wrong->has_value());
    auto empty = reader->find_key("");
    ASSERT_TRUE(empty.ok());
    EXPECT_FALSE(empty->has_value());

    auto by_id = writer_->get_key_by_id(rec.id);
    ASSERT_TRUE(by_id.ok());
    ASSERT_TRUE(by_id->has_value());
    EXPECT_EQ((*by_id)->digest, rec.digest);
    KeyRecord dup = rec;
    EXPECT_FALSE(writer_->put_key(dup, true).ok()) << "duplicate id";
}

TEST_F(StoreEnvTest, ChangesVisibleWithoutReopeningReader) {
    auto reader = open_reader();
    ASSERT_TRUE(reader);
    EXPECT_FALSE(reader->find_key("sk-llmp-nothing-yet")->has_value());

    KeyRecord rec;
    std::string secret = add_key("late", &rec);
    auto found = reader->find_key(secret);
    ASSERT_TRUE(found.ok());
    ASSERT_TRUE(found->has_value()) << "a key written after the reader opened is found";

    // Disable: the record is still found, with its state.
    KeyRecord disabled = rec;
    disabled.disabled = true;
    ASSERT_TRUE(writer_->put_key(disabled, false).ok());
    auto d = reader->find_key(secret);
    ASSERT_TRUE(d.ok() && d->has_value());
    EXPECT_TRUE((*d)->disabled);
    EXPECT_EQ(key_state(**d, 0), KeyState::kDisabled);

    // Rotate: same id, new secret; the old one stops working at once.
    KeyRecord rotated = disabled;
    rotated.disabled = false;
    std::string new_secret = generate_key_secret();
    set_key_secret(rotated, new_secret);
    ASSERT_TRUE(writer_->replace_key_digest(rec.id, rotated).ok());
    EXPECT_FALSE(reader->find_key(secret)->has_value());
    auto r = reader->find_key(new_secret);
    ASSERT_TRUE(r.ok() && r->has_value());
    EXPECT_EQ((*r)->id, rec.id);
    auto listed = writer_->list_keys();
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->size(), 1u) << "rotation leaves no record under the old digest";
    EXPECT_FALSE(writer_->replace_key_digest("key_000000000000", rotated).ok());

    ASSERT_TRUE(writer_->remove_key(rec.id).ok());
    EXPECT_FALSE(reader->find_key(new_secret)->has_value());
    EXPECT_EQ(writer_->remove_key(rec.id).error().code, ErrorCode::kNotFound);
}

TEST_F(StoreEnvTest, UpdateKeyIsOneReadModifyWrite) {
    KeyRecord rec;
    std::string secret = add_key("upd", &rec);
    auto reader = open_reader();
    ASSERT_TRUE(reader);

    auto disabled = writer_->update_key(rec.id, [](KeyRecord& k) {
        k.disabled = true;
        return Status();
    });
    ASSERT_TRUE(disabled.ok()) << disabled.error().describe();
    EXPECT_TRUE(disabled->disabled);

    // Rotation through update_key keeps the disabled flag set just before.
    std::string new_secret = generate_key_secret();
    auto rotated = writer_->update_key(rec.id, [&](KeyRecord& k) {
        set_key_secret(k, new_secret);
        return Status();
    });
    ASSERT_TRUE(rotated.ok()) << rotated.error().describe();
    EXPECT_TRUE(rotated->disabled);
    EXPECT_FALSE(reader->find_key(secret)->has_value());
    auto found = reader->find_key(new_secret);
    ASSERT_TRUE(found.ok() && found->has_value());
    EXPECT_TRUE((*found)->disabled);

    // A failing change writes nothing.
    auto refused = writer_->update_key(rec.id, [](KeyRecord& k) {
        k.disabled = false;
        return Status(make_error(ErrorCode::kInvalidRequest, "", "no"));
    });
    EXPECT_FALSE(refused.ok());
    EXPECT_TRUE((*writer_->get_key_by_id(rec.id))->disabled);
    auto renamed = writer_->update_key(rec.id, [](KeyRecord& k) {
        k.id = "key_ffffffffffff";
        return Status();
    });
    EXPECT_FALSE(renamed.ok());
    EXPECT_EQ(writer_->update_key("key_000000000000", [](KeyRecord&) { return Status(); }).error().code,
              ErrorCode::kNotFound);
}

TEST_F(StoreEnvTest, UpdateProviderValidatesAndKeepsUnchangedFields) {
    ProviderRecord p = provider("upd");
    p.headers = {{"X-A", "1"}};
    p.created_at = 123;
    ASSERT_TRUE(writer_->put_provider(p, true).ok());
    auto updated = writer_->update_provider("upd", [](ProviderRecord& r) {
        r.upstream = "pool";
        return Status();
    });
    ASSERT_TRUE(updated.ok()) << updated.error().describe();
    auto stored = writer_->get_provider("upd");
    ASSERT_TRUE(stored.ok() && stored->has_value());
    EXPECT_EQ((*stored)->upstream, "pool");
    EXPECT_EQ((*stored)->headers.size(), 1u);
    EXPECT_EQ((*stored)->created_at, 123);

    auto invalid = writer_->update_provider("upd", [](ProviderRecord& r) {
        r.base_url = "not a url";
        return Status();
    });
    EXPECT_FALSE(invalid.ok());
    EXPECT_EQ((*writer_->get_provider("upd"))->base_url, "https://api.example.com/v1");
    EXPECT_FALSE(writer_->update_provider("nope", [](ProviderRecord&) { return Status(); }).ok());
}

TEST_F(StoreEnvTest, SnapshotCachedByTxnId) {
    ASSERT_TRUE(writer_->put_provider(provider("one"), true).ok());
    auto reader = open_reader();
    ASSERT_TRUE(reader);
    auto s1 = reader->snapshot();
    ASSERT_TRUE(s1.ok()) << s1.error().describe();
    auto s2 = reader->snapshot();
    ASSERT_TRUE(s2.ok());
    EXPECT_EQ(s1->get(), s2->get()) << "unchanged store: the same decoded snapshot";
    ASSERT_NE((*s1)->provider("one"), nullptr);
    EXPECT_EQ((*s1)->provider("two"), nullptr);

    ASSERT_TRUE(writer_->put_provider(provider("two"), true).ok());
    RouteRecord route;
    route.pattern = "default";
    route.targets = {{"two", "m"}};
    ASSERT_TRUE(writer_->put_route(route).ok());
    auto s3 = reader->snapshot();
    ASSERT_TRUE(s3.ok());
    EXPECT_NE(s3->get(), s1->get());
    EXPECT_GT((*s3)->txn_id, (*s1)->txn_id);
    ASSERT_NE((*s3)->provider("two"), nullptr);
    const RouteRecord* m = (*s3)->routes.match("anything");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->targets[0].provider, "two");
    // The old snapshot is untouched (requests in flight keep using it).
    EXPECT_EQ((*s1)->provider("two"), nullptr);
    auto s4 = reader->snapshot();
    EXPECT_EQ(s4->get(), s3->get());
}

TEST_F(StoreEnvTest, SnapshotResolvesProviderKeys) {
    MasterKey mk;
    mk.bytes.fill(0x42);
    ProviderRecord sealed = provider("sealed");
    sealed.api_key_sealed = seal_secret(mk, "sealed", "sk-upstream-sealed");
    sealed.quirks = {{"max_tokens_field", "max_completion_tokens"}};
    ASSERT_TRUE(writer_->put_provider(sealed, true).ok());
    ProviderRecord env = provider("fromenv");
    env.api_key_env = "LLMPROXY_TEST_PROVIDER_KEY";
    ASSERT_TRUE(writer_->put_provider(env, true).ok());
    ProviderRecord missing_env = provider("noenv");
    missing_env.api_key_env = "LLMPROXY_TEST_UNSET_VARIABLE";
    ASSERT_TRUE(writer_->put_provider(missing_env, true).ok());
    ::setenv("LLMPROXY_TEST_PROVIDER_KEY", "sk-upstream-env", 1);
    ::unsetenv("LLMPROXY_TEST_UNSET_VARIABLE");

    auto reader = open_reader(mk);
    ASSERT_TRUE(reader);
    auto snap = reader->snapshot();
    ASSERT_TRUE(snap.ok());
    EXPECT_EQ((*snap)->provider("sealed")->api_key, "sk-upstream-sealed");
    EXPECT_EQ((*snap)->provider("sealed")->quirks.max_tokens_field, "max_completion_tokens");
    EXPECT_EQ((*snap)->provider("fromenv")->api_key, "sk-upstream-env");
    EXPECT_EQ((*snap)->provider("noenv")->api_key, "");
    ASSERT_EQ(reader->warnings().size(), 1u);
    EXPECT_NE(reader->warnings()[0].find("LLMPROXY_TEST_UNSET_VARIABLE"), std::string::npos);

    // A wrong master key: the provider loads with an empty key and a warning
    // that carries no secret.
    MasterKey wrong;
    wrong.bytes.fill(0x43);
    auto reader2 = open_reader(wrong);
    ASSERT_TRUE(reader2);
    auto snap2 = reader2->snapshot();
    ASSERT_TRUE(snap2.ok());
    ASSERT_NE((*snap2)->provider("sealed"), nullptr);
    EXPECT_EQ((*snap2)->provider("sealed")->api_key, "");
    bool warned = false;
    for (const auto& w : reader2->warnings()) {
        EXPECT_EQ(w.find("sk-upstream"), std::string::npos);
        EXPECT_EQ(w.find(sealed.api_key_sealed), std::string::npos);
        if (w.find("'sealed'") != std::string::npos && w.find("decrypt") != std::string::npos) warned = true;
    }
    EXPECT_TRUE(warned);

    // No master key at all.
    auto reader3 = open_reader(std::nullopt);
    ASSERT_TRUE(reader3);
    auto snap3 = reader3->snapshot();
    ASSERT_TRUE(snap3.ok());
    EXPECT_EQ((*snap3)->provider("sealed")->api_key, "");
    ::unsetenv("LLMPROXY_TEST_PROVIDER_KEY");
}

TEST_F(StoreEnvTest, SnapshotSkipsCorruptRecordsWithWarnings) {
    ASSERT_TRUE(writer_->put_provider(provider("good"), true).ok());
    raw_put(kDbProviders, "broken", "{not json");
    raw_put(kDbProviders, "future", R"({"v":7,"name":"future"})");
    raw_put(kDbRoutes, "re:(", R"({"v":1,"pattern":"re:(","targets":[{"provider":"good","model":"m"}]})");
    raw_put(kDbProviders, "badquirk",
            R"({"v":1,"name":"badquirk","format":"openai","base_url":"https://x","quirks":{"nope":"1"}})");
    auto reader = open_reader();
    ASSERT_TRUE(reader);
    auto snap = reader->snapshot();
    ASSERT_TRUE(snap.ok());
    EXPECT_NE((*snap)->provider("good"), nullptr);
    EXPECT_NE((*snap)->provider("badquirk"), nullptr) << "a bad quirk is skipped, not the provider";
    EXPECT_EQ((*snap)->provider("future"), nullptr);
    EXPECT_EQ((*snap)->routes.routes().size(), 0u);
    EXPECT_EQ(reader->warnings().size(), 4u);
}

TEST_F(StoreEnvTest, ReaderCheckClearsSlotOfDeadProcess) {
    auto reader = open_reader();
    ASSERT_TRUE(reader);
    EXPECT_EQ(reader->reader_check(), 0);
    // A child opens its own reader (taking a reader slot) and dies without
    // closing it, as a crashed nginx worker would.
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto r = StoreReader::open(dir_, std::nullopt);
        ::_exit(r.ok() ? 0 : 1);  // no destructors: the slot stays behind
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(reader->reader_check(), 1);
    EXPECT_EQ(reader->reader_check(), 0);
    // The surviving reader still works.
    auto snap = reader->snapshot();
    EXPECT_TRUE(snap.ok());
}

}  // namespace
}  // namespace llmproxy::store
