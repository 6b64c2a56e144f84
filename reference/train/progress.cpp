#include "train/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <vector>

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

double run_seconds_left(const progress_state& state) {
  const auto left = state.total_iterations - (state.global_iteration + 1);
  if (!(state.seconds_per_iteration > 0) || left < 0) return -1;
  return state.seconds_per_iteration * static_cast<double>(left);
}

namespace {

/// One field of the terminal's line; fields with a lower `drop_rank` go first when the line is
/// too wide, and `keep` fields never go.
struct line_field {
  std::string text;
  int drop_rank;
};
constexpr int keep = 1000;

std::string shape_text(const batch_shape& shape) {
  return printf_text("B %dx%dx%d", shape.per_process_batch, shape.frames, shape.crop);
}

std::string eta_text(const progress_state& state) {
  return "eta " + duration_text(run_seconds_left(state));
}

}  // namespace

std::string format_progress_fields(const progress_state& state) {
  return printf_text(
      "epoch %d/%d iter %lld/%lld (%lld/%lld) stage %d %s lr %.4g loss %.4f "
      "%.1f clips/s data %.0f%% %s",
      state.epoch + 1, state.epochs, static_cast<long long>(state.iteration + 1),
      static_cast<long long>(state.iterations), static_cast<long long>(state.global_iteration + 1),
      static_cast<long long>(state.total_iterations), state.stage, shape_text(state.shape).c_str(),
      state.lr, state.loss, state.clips_per_second, 100 * state.data_wait_share,
      eta_text(state).c_str());
}

std::string format_progress_bar(const progress_state& state, std::size_t columns) {
  constexpr int bar_width = 24;
  const double done = state.iterations > 0 ? static_cast<double>(state.iteration + 1) /
                                                 static_cast<double>(state.iterations)
                                           : 0;
  const int filled = std::clamp(static_cast<int>(done * bar_width), 0, bar_width);
  const double epoch_left = done > 0 ? state.epoch_seconds * (1 - done) / done : NAN;
  std::vector<line_field> fields{
      {"[" + std::string(static_cast<std::size_t>(filled), '#') +
           std::string(static_cast<std::size_t>(bar_width - filled), '.') + "]",
       0},
      {printf_text("%lld/%lld", static_cast<long long>(state.iteration + 1),
                   static_cast<long long>(state.iterations)),
       keep},
      {duration_text(state.epoch_seconds) + "<" + duration_text(epoch_left), 1},
      {printf_text("epoch %d/%d", state.epoch + 1, state.epochs), keep},
      {printf_text("stage %d", state.stage), 2},
      {shape_text(state.shape), 5},
      {printf_text("lr %.4g", state.lr), keep},
      {printf_text("loss %.4f", state.loss), keep},
      {printf_text("%.1f clips/s", state.clips_per_second), 4},
      {printf_text("data %.0f%%", 100 * state.data_wait_share), 3},
      {eta_text(state), 6},
  };
  auto joined = [&fields] {
    std::string line;
    for (const auto& field : fields) {
      if (!line.empty()) line += ' ';
      line += field.text;
    }
    return line;
  };
  auto line = joined();
  while (line.size() >= columns) {
    const auto lowest = std::min_element(
        fields.begin(), fields.end(),
        [](const line_field& a, const line_field& b) { return a.drop_rank < b.drop_rank; });
    if (lowest == fields.end() || lowest->drop_rank == keep) break;
    fields.erase(lowest);
    line = joined();
  }
  if (columns > 0 && line.size() >= columns) line.resize(columns - 1);
  return line;
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

std::string log_time_prefix(std::time_t now) {
  std::tm local{};
  ::localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S ", &local);
  return text;
}

progress_display::progress_display(std::FILE* out, bool interactive, int log_period, std::FILE* log)
    : out_(out), log_(log), interactive_(interactive), log_period_(std::max(1, log_period)) {}

progress_display::progress_display(std::FILE* out, int log_period, std::FILE* log)
    : progress_display(out, ::isatty(::fileno(out)) == 1, log_period, log) {}

void progress_display::clear_line() {
  if (!line_shown_) return;
  std::fputs("\r\033[K", out_);
  line_shown_ = false;
}

void progress_display::log_line(const std::string& text) {
  const auto line = log_time_prefix(std::time(nullptr)) + text + "\n";
  if (!interactive_) {
    std::fputs(line.c_str(), out_);
    std::fflush(out_);
  }
  if (log_ != nullptr) {
    std::fputs(line.c_str(), log_);
    std::fflush(log_);
  }
}

void progress_display::update(const progress_state& state) {
  const bool last = state.iteration + 1 >= state.iterations;
  if ((state.iteration + 1) % log_period_ == 0 || last) {
    if (log_ != nullptr || !interactive_) log_line(format_progress_fields(state));
  }
  if (!interactive_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!last && line_shown_ && now - last_draw_ < redraw_interval) return;
  last_draw_ = now;
  const auto line = format_progress_bar(state, terminal_columns(out_));
  std::fprintf(out_, "\r\033[K%s", line.c_str());
  std::fflush(out_);
  line_shown_ = true;
}

void progress_display::end_epoch(const epoch_metrics& epoch, int epochs) {
  message(format_epoch_summary(epoch, epochs));
}

void progress_display::message(const std::string& text) {
  if (interactive_) {
    clear_line();
    std::fprintf(out_, "%s\n", text.c_str());
    std::fflush(out_);
  }
  log_line(text);
}

}  // namespace multigrid::reference
