// workflows.* and workflow_runs.* operations (docs/WORKFLOWS.md).
#pragma once

#include "api/context.hpp"

namespace banxway::services {

Result<std::string> workflows_list(api::Ctx& ctx, json::Value& p);
Result<std::string> workflows_get(api::Ctx& ctx, json::Value& p);
Result<std::string> workflows_create(api::Ctx& ctx, json::Value& p);
Result<std::string> workflows_update(api::Ctx& ctx, json::Value& p);
Result<std::string> workflows_delete(api::Ctx& ctx, json::Value& p);
Result<std::string> workflows_versions(api::Ctx& ctx, json::Value& p);
Result<std::string> workflows_test(api::Ctx& ctx, json::Value& p);
Result<std::string> workflows_run(api::Ctx& ctx, json::Value& p);
Result<std::string> workflows_runs(api::Ctx& ctx, json::Value& p);
Result<std::string> threads_runs(api::Ctx& ctx, json::Value& p);
Result<std::string> workflow_runs_get(api::Ctx& ctx, json::Value& p);
Result<std::string> workflow_runs_cancel(api::Ctx& ctx, json::Value& p);
Result<std::string> workflow_runs_retry(api::Ctx& ctx, json::Value& p);

}  // namespace banxway::services
