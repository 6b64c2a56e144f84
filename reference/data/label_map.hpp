#pragma once
// Class names by label id. A label map file has one class name per line, line i naming label i
// (mmaction2's label_map_k400.txt); Kinetics' own convention is the alphabetical order of the
// names, which is what a Kinetics CSV gives without a map.

#include <string>
#include <vector>

namespace multigrid::reference {

/// Reads a label map; throws dataset_error naming file and line for an empty or repeated name.
std::vector<std::string> read_label_map(const std::string& path);

/// Writes one name per line.
std::string label_map_text(const std::vector<std::string>& class_names);

}  // namespace multigrid::reference
