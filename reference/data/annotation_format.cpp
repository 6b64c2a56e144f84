#include "data/annotation_format.hpp"

#include <filesystem>

namespace multigrid::reference {

std::string_view annotation_format_name(annotation_format format) noexcept {
  switch (format) {
    case annotation_format::automatic:
      return "auto";
    case annotation_format::pyslowfast:
      return "pyslowfast";
    case annotation_format::mmaction2:
      return "mmaction2";
    case annotation_format::kinetics:
      return "kinetics";
  }
  return "unknown";
}

std::optional<annotation_format> parse_annotation_format(std::string_view name) noexcept {
  for (auto format : {annotation_format::automatic, annotation_format::pyslowfast,
                      annotation_format::mmaction2, annotation_format::kinetics}) {
    if (annotation_format_name(format) == name) return format;
  }
  return std::nullopt;
}

std::string annotation_file_for_split(const std::string& folder, const std::string& split,
                                      annotation_format format) {
  const std::filesystem::path root(folder);
  const auto pyslowfast = (root / (split + ".csv")).string();
  const auto mmaction2 = (root / (split + "_list_videos.txt")).string();
  const auto kinetics = (root / ("kinetics_" + split + ".csv")).string();
  switch (format) {
    case annotation_format::pyslowfast:
      return pyslowfast;
    case annotation_format::mmaction2:
      return mmaction2;
    case annotation_format::kinetics:
      return kinetics;
    case annotation_format::automatic:
      for (const auto& candidate : {pyslowfast, mmaction2, kinetics}) {
        if (std::filesystem::exists(candidate)) return candidate;
      }
      return pyslowfast;
  }
  return pyslowfast;
}

annotation_format detect_annotation_format(const std::string& first_line) {
  return first_line.find("youtube_id") != std::string::npos ? annotation_format::kinetics
                                                            : annotation_format::pyslowfast;
}

}  // namespace multigrid::reference
