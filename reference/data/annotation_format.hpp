#pragma once
// The three annotation formats a dataset can come in, and how a split's file is named in
// DATA.PATH_TO_DATA_DIR for each.
//
//   pyslowfast  `path label` per line, DATA.PATH_LABEL_SEPARATOR between them (PySlowFast's
//               {train,val,test}.csv); also `path` alone (label 0) and `path id label`
//   mmaction2   `relative/path label` separated by white space (mmaction2's video lists)
//   kinetics    the official CSV with a header `label,youtube_id,time_start,time_end,split`,
//               videos where the public downloader puts them:
//               ROOT/label/{youtube_id}_{time_start:06d}_{time_end:06d}.mp4

#include <optional>
#include <string>
#include <string_view>

namespace multigrid::reference {

enum class annotation_format { automatic, pyslowfast, mmaction2, kinetics };

std::string_view annotation_format_name(annotation_format format) noexcept;
std::optional<annotation_format> parse_annotation_format(std::string_view name) noexcept;

/// The file of `split` ("train", "val", "test") in a dataset folder: {split}.csv,
/// {split}_list_videos.txt or kinetics_{split}.csv. `automatic` takes the first that exists,
/// in that order, and {split}.csv when none does.
std::string annotation_file_for_split(const std::string& folder, const std::string& split,
                                      annotation_format format);

/// Guesses the format of an annotation file from its first line: a header naming youtube_id
/// means kinetics; anything else is read as pyslowfast.
annotation_format detect_annotation_format(const std::string& first_line);

}  // namespace multigrid::reference
