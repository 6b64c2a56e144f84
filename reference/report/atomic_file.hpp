#pragma once
// Writing a file so that readers see the old content or the new, never a torn one: write a
// temporary file beside it, flush it to disk, then rename it over the target.

#include <string>

namespace multigrid::reference {

/// Replaces `path` with `content` atomically; throws std::runtime_error naming the path on failure.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace multigrid::reference
