#pragma once
// Re-encodes a dataset tree so that random clips decode fast: every video scaled to a given short
// side (most datasets are stored larger than the loader's jitter range needs) and encoded with a
// short keyframe interval, so a random clip costs about its own length in decoded frames instead
// of up to a whole group of pictures (x264's default is 250 frames). The layout is kept: same
// folders, same names, annotation files copied. Parallel over files, resumable (finished files
// are skipped; unfinished ones never carry the final name), and broken sources are reported and
// skipped. Display rotation is applied to the pixels; audio is dropped.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "data/spatial_sampling.hpp"
#include "data/video_reader.hpp"

namespace multigrid::reference {

struct preparation_options {
  int short_side = 256;
  int keyframe_interval = 16;
  int jobs = 1;
  std::string codec = "auto";  ///< libx264 where available, else mpeg4
  std::string preset;          ///< x264 preset; empty: x264's default (medium)
  /// x264 tune. fastdecode (no CABAC, no deblocking filter, no weighted prediction) halves the
  /// decoding time per frame for about 15 % larger files; "none" keeps x264's defaults.
  std::string tune = "fastdecode";
  int quality = -1;  ///< CRF / qscale; -1: default
  /// Extra x264 settings, key=value:key=value. By default no B-frame is a reference (x264's
  /// b-pyramid off), so the loader can skip every B-frame a clip does not sample: about a quarter
  /// fewer frames decoded per clip, at the same file size.
  std::string x264_params = "b-pyramid=none";
  video_reader_options reader;
  std::function<void(const std::string&)> progress;  ///< one line per file
};

struct preparation_report {
  std::int64_t converted = 0;
  std::int64_t skipped = 0;  ///< already prepared by an earlier run
  std::int64_t copied = 0;   ///< annotation and other non-video files
  std::vector<std::pair<std::string, std::string>> failures;  ///< source path, reason
  std::vector<std::pair<std::string, std::string>>
      renamed;  ///< source, target with a new extension
};

/// The prepared frame size: short side `short_side`, aspect kept, both sides even (4:2:0).
frame_size prepared_size(frame_size display, int short_side);

/// Re-encodes one video. Throws video_error for a broken source, std::runtime_error otherwise.
void prepare_video(const std::string& source, const std::string& target,
                   const preparation_options& options);

/// Prepares every video under `source_root` into the same place under `target_root`.
preparation_report prepare_videos(const std::string& source_root, const std::string& target_root,
                                  const preparation_options& options);

/// Whether a file name looks like a video (by extension).
bool is_video_file(const std::string& path);

}  // namespace multigrid::reference
