// GET /v1/models: the model names a key may use, in either dialect's list
// format. Names come from exact-name routes (globs, regexes and "default"
// match open-ended sets and cannot be listed), filtered by the key's
// allow-list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dialect.hpp"
#include "core/store.hpp"

namespace llmproxy {

struct ListedModel {
    std::string id;
    std::int64_t created = 0;  // when its route was set (unix seconds)
};

std::vector<ListedModel> listable_models(const store::Snapshot& snap, const store::KeyRecord& key);

// Anthropic: {"data":[{"type":"model","id",...}],"has_more":false,"first_id","last_id"};
// OpenAI: {"object":"list","data":[{"id","object":"model","created","owned_by"}]}.
std::string models_response(Dialect client, const std::vector<ListedModel>& models);

// True for a route pattern that names exactly one model.
bool is_exact_model_pattern(std::string_view pattern);

}  // namespace llmproxy
