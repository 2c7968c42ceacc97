// Engine internals, for in-tree code that needs the storage layer directly (benchmarks,
// tests, import tools). Not part of the installed API.
#pragma once

#include <memory>
#include <vector>

#include "api/auth.hpp"
#include "api/context.hpp"
#include "banxway/engine.hpp"
#include "runtime/event_dispatch.hpp"
#include "runtime/event_feed.hpp"
#include "runtime/jobs.hpp"
#include "runtime/mail_sync.hpp"

namespace banxway {

struct Engine::Impl {
  api::Core core;
  std::unique_ptr<api::Authenticator> auth;
  std::vector<OperationInfo> infos;
  // Declared after core: destroyed first, while the database it uses is still open.
  std::unique_ptr<runtime::JobQueue> jobs;
  std::unique_ptr<runtime::MailWatcher> mail;  // IMAP watchers, started with the workers
  std::unique_ptr<runtime::EventFeed> feed;    // live events (Engine::live_*)
  std::unique_ptr<runtime::EventDispatcher> dispatch;  // event consumers (workflows, SLA, webhooks)
};

}  // namespace banxway
