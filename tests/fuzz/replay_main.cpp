// A main for the fuzz targets where libFuzzer is not available (a GCC build): runs the target on
// every file of the folders or files given, so that the seed corpora run in every build, under
// the sanitizers in the sanitizer build. Exits non-zero when an input escapes the target.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

int replay(const std::filesystem::path& file) {
  std::ifstream stream(file, std::ios::binary);
  const std::string bytes(std::istreambuf_iterator<char>(stream), {});
  try {
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  } catch (const std::exception& error) {
    const std::string text = error.what();
    std::fprintf(stderr, "%s: escaped the reader: %s\n", file.c_str(),
                 text.substr(0, text.find('\n')).c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int failures = 0;
  int inputs = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path path(argv[i]);
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(path)) {
      for (const auto& item : std::filesystem::recursive_directory_iterator(path)) {
        if (item.is_regular_file()) files.push_back(item.path());
      }
    } else {
      files.push_back(path);
    }
    for (const auto& file : files) {
      failures += replay(file);
      ++inputs;
    }
  }
  std::printf("%d inputs replayed, %d escaped\n", inputs, failures);
  return failures == 0 && inputs > 0 ? 0 : 1;
}
