#include "train/shutdown_signal.hpp"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

using namespace multigrid::reference;

TEST_CASE("a first SIGINT or SIGTERM only raises the flag the loop polls") {
  {
    shutdown_signal_handler handler;
    CHECK_FALSE(shutdown_requested());
    std::raise(SIGTERM);
    CHECK(shutdown_requested());
    CHECK(shutdown_signal_number() == SIGTERM);
  }
  {
    shutdown_signal_handler handler;  // a new handler starts with the flag down
    CHECK_FALSE(shutdown_requested());
    std::raise(SIGINT);
    CHECK(shutdown_signal_number() == SIGINT);
  }
  CHECK_THROWS([] {
    shutdown_signal_handler first;
    shutdown_signal_handler second;
  }());
}

TEST_CASE("a second signal exits at once with 128 + signal") {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    shutdown_signal_handler handler;
    std::raise(SIGINT);
    std::raise(SIGINT);
    ::_exit(0);  // not reached
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + SIGINT);
}
