#pragma once
#include "store/db.hpp"

namespace banxway::store {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

/// The migrations compiled into the library, ordered, terminated by {0, nullptr, nullptr}.
const Migration* embedded_migrations(Dialect d);

}  // namespace banxway::store
