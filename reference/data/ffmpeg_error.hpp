#pragma once
// FFmpeg reports failures as negative error codes; these helpers turn them into text and
// exceptions that say which file and which step failed.

#include <stdexcept>
#include <string>

namespace multigrid::reference {

/// A video that cannot be used: missing, empty, truncated, not a video, or undecodable. The
/// loader reports it once with path() and reason() and replaces the sample.
class video_error : public std::runtime_error {
 public:
  video_error(std::string path, std::string reason, bool whole_file = false)
      : std::runtime_error(path + ": " + reason),
        path_(std::move(path)),
        reason_(std::move(reason)),
        whole_file_(whole_file) {}

  const std::string& path() const noexcept { return path_; }
  const std::string& reason() const noexcept { return reason_; }
  /// The file could not even be opened as a video: every clip of it fails the same way.
  bool whole_file() const noexcept { return whole_file_; }

 private:
  std::string path_;
  std::string reason_;
  bool whole_file_ = false;
};

namespace ffmpeg {

/// FFmpeg's description of an error code, e.g. "Invalid data found when processing input".
std::string error_text(int code);

}  // namespace ffmpeg
}  // namespace multigrid::reference
