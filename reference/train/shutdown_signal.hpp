#pragma once
// SIGINT and SIGTERM (Ctrl-C, a scheduler's pre-emption) ask the trainer to stop: the handler
// only sets a flag, which the loop polls between iterations to write a checkpoint and leave. A
// second signal means "now": the process exits at once with status 128 + signal.

namespace multigrid::reference {

/// Installs the handlers for its lifetime and restores the previous ones after. One at a time.
class shutdown_signal_handler {
 public:
  shutdown_signal_handler();
  ~shutdown_signal_handler();
  shutdown_signal_handler(const shutdown_signal_handler&) = delete;
  shutdown_signal_handler& operator=(const shutdown_signal_handler&) = delete;
};

/// Whether a first SIGINT or SIGTERM arrived since the handlers were installed.
bool shutdown_requested() noexcept;
/// The signal that asked, or 0.
int shutdown_signal_number() noexcept;

}  // namespace multigrid::reference
