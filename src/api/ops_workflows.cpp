// workflows.* and workflow_runs.*: the definitions are validated by the workflow compiler
// (workflow/definition.hpp), which reports errors with the JSON path; the schemas here only
// bound the envelope.
#include "api/registry.hpp"
#include "services/workflows.hpp"

namespace banxway::api {
namespace {
// A definition's top-level keys (the compiler checks everything inside).
constexpr const char* kDefinitionProps = R"(
    "name":{"type":"string","minLength":1,"maxLength":200},
    "description":{"type":"string","maxLength":2000},
    "enabled":{"type":"boolean"},
    "priority":{"type":"integer","minimum":-1000,"maximum":1000},
    "trigger":{"type":"object","additionalProperties":true},
    "conditions":{"type":"object","additionalProperties":true},
    "steps":{"type":"array","minItems":1,"maxItems":100,"items":{"type":"object","additionalProperties":true}},
    "retry":{"type":"object","additionalProperties":true})";
constexpr const char* kRunStatus =
    R"("status":{"type":"string","enum":["running","waiting","completed","failed","cancelled","skipped"]})";
}  // namespace

void register_workflow_ops(Registry& r) {
  const std::string props(kDefinitionProps), run_status(kRunStatus);
  r.add("workflows.list", "Workflows in run order (priority, then name)", Permission::read,
        R"({"type":"object","properties":{
            "enabled":{"type":"boolean"},
            "trigger_kind":{"type":"string","enum":["event","schedule","relative","manual"]},
            "limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048}}})",
        services::workflows_list, true);
  r.add("workflows.get", "A workflow with its current definition", Permission::read,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::workflows_get);
  r.add("workflows.create", "Create a workflow from its definition (validated; errors name the path)",
        Permission::remove,
        R"({"type":"object","required":["name","trigger","steps"],"properties":{)" + props + "}}",
        services::workflows_create);
  r.add("workflows.update",
        "Save a new version: the keys given replace the current definition's", Permission::remove,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"},)" +
            props + "}}",
        services::workflows_update);
  r.add("workflows.delete", "Delete a workflow (runs already started finish)", Permission::remove,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::workflows_delete);
  r.add("workflows.versions", "Every saved version of a workflow, newest first", Permission::read,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::workflows_versions, true);
  r.add("workflows.test",
        "Dry run: what a workflow (id, or an unsaved definition) would do for a stored event or a "
        "thread, without doing it",
        Permission::write,
        R"({"type":"object","properties":{
            "id":{"type":"string","format":"uuid"},
            "definition":{"type":"object","additionalProperties":true},
            "event_id":{"type":"integer","minimum":1},
            "thread_id":{"type":"string","format":"uuid"}}})",
        services::workflows_test);
  r.add("workflows.run", "Start a run of a workflow on a thread now (manual trigger)",
        Permission::write,
        R"({"type":"object","required":["id","thread_id"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "thread_id":{"type":"string","format":"uuid"}}})",
        services::workflows_run);
  r.add("workflows.runs", "A workflow's runs, newest first", Permission::read,
        R"({"type":"object","required":["id"],"properties":{
            "id":{"type":"string","format":"uuid"},)" + run_status + R"(,
            "limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048}}})",
        services::workflows_runs, true);
  r.add("threads.runs", "Workflow runs on a thread, newest first", Permission::read,
        R"({"type":"object","required":["thread_id"],"properties":{
            "thread_id":{"type":"string","format":"uuid"},)" + run_status + R"(,
            "limit":{"type":"integer","minimum":1,"maximum":200},
            "cursor":{"type":"string","maxLength":2048}}})",
        services::threads_runs, true);
  r.add("workflow_runs.get", "A run with its full history", Permission::read,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::workflow_runs_get);
  r.add("workflow_runs.cancel", "Cancel a running or waiting run", Permission::write,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::workflow_runs_cancel);
  r.add("workflow_runs.retry", "Retry a failed run from the step that failed", Permission::write,
        R"({"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}})",
        services::workflow_runs_retry);
}

}  // namespace banxway::api
