#include "core/model_listing.hpp"

#include <ctime>

#include "core/json.hpp"

namespace llmproxy {

bool is_exact_model_pattern(std::string_view pattern) {
    return pattern != "default" && pattern.rfind("re:", 0) != 0 &&
           pattern.rfind("scenario:", 0) != 0 &&
           pattern.find_first_of("*?") == std::string_view::npos;
}

std::vector<ListedModel> listable_models(const store::Snapshot& snap, const store::KeyRecord& key) {
    std::vector<ListedModel> ids;
    for (const auto& route : snap.routes.routes()) {
        if (!is_exact_model_pattern(route.pattern)) continue;
        bool allowed = key.models.empty();
        for (const auto& p : key.models) {
            if (store::pattern_matches(p, route.pattern)) {
                allowed = true;
                break;
            }
        }
        if (allowed) ids.push_back(ListedModel{route.pattern, route.created_at});
    }
    return ids;
}

namespace {

std::string rfc3339(std::int64_t unix_seconds) {
    char buf[32];
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

void append_id_or_null(std::string& out, const std::vector<ListedModel>& models, bool first) {
    if (models.empty()) {
        out += "null";
    } else {
        json_append_string(out, first ? models.front().id : models.back().id);
    }
}

}  // namespace

std::string models_response(Dialect client, const std::vector<ListedModel>& models) {
    std::string out;
    out.reserve(64 + models.size() * 96);
    if (client == Dialect::kAnthropic) {
        out += R"({"data":[)";
        for (std::size_t i = 0; i < models.size(); ++i) {
            if (i) out += ',';
            out += R"({"type":"model","id":)";
            json_append_string(out, models[i].id);
            out += R"(,"display_name":)";
            json_append_string(out, models[i].id);
            out += R"(,"created_at":")";
            out += rfc3339(models[i].created);
            out += "\"}";
        }
        out += R"(],"has_more":false,"first_id":)";
        append_id_or_null(out, models, true);
        out += R"(,"last_id":)";
        append_id_or_null(out, models, false);
        out += '}';
    } else {
        out += R"({"object":"list","data":[)";
        for (std::size_t i = 0; i < models.size(); ++i) {
            if (i) out += ',';
            out += R"({"id":)";
            json_append_string(out, models[i].id);
            out += R"(,"object":"model","created":)";
            out += std::to_string(models[i].created);
            out += R"(,"owned_by":"llmproxy"})";
        }
        out += "]}";
    }
    return out;
}

}  // namespace llmproxy
