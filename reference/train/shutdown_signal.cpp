#include "train/shutdown_signal.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <stdexcept>

namespace multigrid::reference {
namespace {

// A lock-free atomic is async-signal-safe to read and write; the handler touches nothing else
// except write(2) and _exit(2), which POSIX lists as safe.
std::atomic<int> requested_signal{0};
std::atomic<bool> installed{false};
struct sigaction previous_interrupt;
struct sigaction previous_terminate;

static_assert(std::atomic<int>::is_always_lock_free, "the signal flag must be lock-free");

void write_message(const char* text) {
  const auto result = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)result;  // nothing to do if stderr is gone
}

extern "C" void on_shutdown_signal(int signal_number) {
  int expected = 0;
  if (requested_signal.compare_exchange_strong(expected, signal_number)) {
    write_message(
        "\nstopping after this iteration: writing a checkpoint (signal again to exit "
        "now)\n");
    return;
  }
  write_message("\nsecond signal: exiting now without a checkpoint\n");
  ::_exit(128 + signal_number);
}

}  // namespace

shutdown_signal_handler::shutdown_signal_handler() {
  if (installed.exchange(true)) {
    throw std::logic_error("shutdown_signal_handler: handlers are already installed");
  }
  requested_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_shutdown_signal;
  sigemptyset(&action.sa_mask);
  // Restart interrupted reads and writes: the loop polls the flag, no call needs to fail early.
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &previous_interrupt);
  sigaction(SIGTERM, &action, &previous_terminate);
}

shutdown_signal_handler::~shutdown_signal_handler() {
  sigaction(SIGINT, &previous_interrupt, nullptr);
  sigaction(SIGTERM, &previous_terminate, nullptr);
  installed = false;
}

bool shutdown_requested() noexcept {
  return requested_signal.load() != 0;
}

int shutdown_signal_number() noexcept {
  return requested_signal.load();
}

}  // namespace multigrid::reference
