#include "train/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>

namespace multigrid::reference {
namespace {

std::string printf_text(const char* pattern, ...) __attribute__((format(printf, 1, 2)));

std::string printf_text(const char* pattern, ...) {
  char buffer[512];
  va_list arguments;
  va_start(arguments, pattern);
  std::vsnprintf(buffer, sizeof buffer, pattern, arguments);
  va_end(arguments);
  return buffer;
}

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto total = static_cast<long>(seconds + 0.5);
  if (total >= 3600)
    return printf_text("%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  return printf_text("%02ld:%02ld", total / 60, total % 60);
}

constexpr auto redraw_interval = std::chrono::milliseconds(100);

// A bar wider than the terminal wraps, and "\r" then redraws only its last row.
std::size_t terminal_columns(std::FILE* out) {
  winsize size{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 120;
}

}  // namespace

std::string format_progress_fields(const progress_state& state) {
  return printf_text("epoch %d/%d stage %d B %dx%dx%d lr %.4g loss %.4f %.1f clips/s data %.0f%%",
                     state.epoch + 1, state.epochs, state.stage, state.shape.per_process_batch,
                     state.shape.frames, state.shape.crop, state.lr, state.loss,
                     state.clips_per_second, 100 * state.data_wait_share);
}

std::string format_progress_bar(const progress_state& state, int bar_width) {
  const double done = state.iterations > 0 ? static_cast<double>(state.iteration + 1) /
                                                 static_cast<double>(state.iterations)
                                           : 0;
  const int filled = std::clamp(static_cast<int>(done * bar_width), 0, bar_width);
  std::string bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
                    std::string(static_cast<std::size_t>(bar_width - filled), '.') + "]";
  const double left = done > 0 ? state.epoch_seconds * (1 - done) / done : NAN;
  return bar +
         printf_text(" %lld/%lld %s<%s ", static_cast<long long>(state.iteration + 1),
                     static_cast<long long>(state.iterations),
                     duration_text(state.epoch_seconds).c_str(), duration_text(left).c_str()) +
         format_progress_fields(state);
}

std::string format_epoch_summary(const epoch_metrics& epoch, int epochs) {
  return printf_text(
      "epoch %d/%d done: stage %d B %dx%dx%d, %lld iterations, loss %.4f, lr %.4g, %.1f clips/s, "
      "data %.0f%%, %s",
      epoch.epoch + 1, epochs, epoch.stage, epoch.shape.per_process_batch, epoch.shape.frames,
      epoch.shape.crop, static_cast<long long>(epoch.iterations), epoch.loss, epoch.lr,
      epoch.clips_per_second, 100 * epoch.data_wait_share,
      duration_text(epoch.epoch_seconds).c_str());
}

progress_display::progress_display(std::FILE* out, bool interactive, int log_period)
    : out_(out), interactive_(interactive), log_period_(std::max(1, log_period)) {}

progress_display::progress_display(std::FILE* out, int log_period)
    : progress_display(out, ::isatty(::fileno(out)) == 1, log_period) {}

void progress_display::clear_bar() {
  if (!bar_shown_) return;
  std::fputs("\r\033[K", out_);
  bar_shown_ = false;
}

void progress_display::update(const progress_state& state) {
  const bool last = state.iteration + 1 >= state.iterations;
  if (!interactive_) {
    if ((state.iteration + 1) % log_period_ == 0 || last) {
      std::fprintf(out_, "%s\n", format_progress_fields(state).c_str());
      std::fflush(out_);
    }
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!last && bar_shown_ && now - last_draw_ < redraw_interval) return;
  last_draw_ = now;
  auto line = format_progress_bar(state, 24);
  const auto columns = terminal_columns(out_);
  if (line.size() >= columns) line.resize(columns - 1);
  std::fprintf(out_, "\r\033[K%s", line.c_str());
  std::fflush(out_);
  bar_shown_ = true;
}

void progress_display::end_epoch(const epoch_metrics& epoch, int epochs) {
  clear_bar();
  std::fprintf(out_, "%s\n", format_epoch_summary(epoch, epochs).c_str());
  std::fflush(out_);
}

void progress_display::message(const std::string& text) {
  clear_bar();
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

}  // namespace multigrid::reference
