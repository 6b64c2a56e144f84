// Crafted checkpoint files: each defect the parser must catch, with a valid checksum so that the
// checksum is not what refuses them. Every one ends in checkpoint_error naming the file.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <string>

#include "temporary_folder.hpp"
#include "train/checkpoint.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

const std::string metadata =
    R"({"__metadata__":{"checksum":"0000000000000000","format":"multigrid-checkpoint",)"
    R"("format_version":"2","position":"{\"epoch\":1,\"iteration_in_epoch\":0,)"
    R"(\"global_iteration\":4,\"train_samples\":32,\"wall_seconds\":1.5,)"
    R"(\"epoch_loss_sum\":0,\"epoch_losses\":0}","metrics":"[]","config":""})";

std::string length_prefix(std::uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[static_cast<std::size_t>(i)] = static_cast<char>(value >> (8 * i));
  return bytes;
}

// A sealed checkpoint whose header is `metadata` followed by `tensors` (JSON members) and `data`.
std::string crafted(const std::string& tensors, const std::string& data) {
  const auto json = metadata + tensors + "}";
  return seal_checkpoint_bytes(length_prefix(json.size()) + json + data);
}

std::string error_of(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  try {
    opened_checkpoint checkpoint(path);
    checkpoint.model_state();
  } catch (const checkpoint_error& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("a crafted checkpoint is refused with the file and the defect named") {
  temporary_folder folder("checkpoint-crafted");
  const auto path = folder.file("crafted.ckpt");
  const std::string four_floats(16, '\0');
  const auto tensor = [](const std::string& name, const std::string& dtype,
                         const std::string& shape, const std::string& offsets) {
    return ",\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
           ",\"data_offsets\":" + offsets + "}";
  };

  // The well-formed file these cases change loads.
  CHECK(error_of(path, crafted(tensor("model.w", "F32", "[2,2]", "[0,16]"), four_floats)) ==
        "no error");
  opened_checkpoint good(path);
  CHECK(good.state().position.global_iteration == 4);
  CHECK(good.model_state().at("w").sizes() == torch::IntArrayRef{2, 2});

  struct defect {
    const char* what;
    std::string bytes;
    const char* message;
  };
  const auto good_json = metadata + tensor("model.w", "F32", "[2,2]", "[0,16]") + "}";
  const defect defects[] = {
      {"header length past the end",
       seal_checkpoint_bytes(length_prefix(good_json.size() + 1000) + good_json + four_floats),
       "shorter than its header"},
      {"huge header length",
       seal_checkpoint_bytes(length_prefix(~std::uint64_t{0}) + good_json + four_floats),
       "shorter than its header"},
      {"offsets past the end", crafted(tensor("model.w", "F32", "[2,2]", "[16,32]"), four_floats),
       "past the data section"},
      {"overlapping tensors",
       crafted(tensor("model.a", "F32", "[2]", "[0,8]") +
                   tensor("model.b", "F32", "[2]", "[4,12]") +
                   tensor("model.c", "F32", "[1]", "[12,16]"),
               four_floats),
       "overlaps the tensor before"},
      {"a gap", crafted(tensor("model.a", "F32", "[2]", "[8,16]"), four_floats), "a gap before it"},
      {"trailing bytes", crafted(tensor("model.a", "F32", "[2]", "[0,8]"), four_floats),
       "trailing bytes"},
      {"huge shape",
       crafted(tensor("model.w", "F32", "[4611686018427387904,4]", "[0,16]"), four_floats),
       "needs more bytes than the file's data section holds"},
      {"shape and offsets disagree",
       crafted(tensor("model.w", "F32", "[3]", "[0,16]"), four_floats),
       "its dtype and shape need 12"},
      {"negative extent", crafted(tensor("model.w", "F32", "[-4]", "[0,16]"), four_floats),
       "is negative"},
      {"unknown dtype", crafted(tensor("model.w", "F128", "[1]", "[0,16]"), four_floats),
       "unsupported dtype `F128`"},
      {"offsets reversed", crafted(tensor("model.w", "U8", "[0]", "[16,0]"), four_floats),
       "begin after end"},
      {"not JSON",
       seal_checkpoint_bytes(length_prefix(good_json.size()) +
                             good_json.substr(0, good_json.size() - 1) + "]" + four_floats),
       "not valid JSON"},
      {"metadata not strings", crafted(",\"__metadata__\":{\"checksum\":5}", ""),
       "is not a string"},
      {"BOOL tensor with other bytes",
       crafted(tensor("model.flags", "BOOL", "[16]", "[0,16]"), std::string(16, '\x07')),
       "BOOL but holds a byte other than 0 or 1"},
      {"random state not bytes", crafted(tensor("rng.0", "F32", "[4]", "[0,16]"), four_floats),
       "random states are not one U8 vector"},
      {"random state damaged", crafted(tensor("rng.0", "U8", "[16]", "[0,16]"), four_floats),
       "random state"},
      {"unset checksum", length_prefix(good_json.size()) + good_json + four_floats,
       "checksum was never written"},
  };
  for (const auto& item : defects) {
    CAPTURE(item.what);
    const auto message = error_of(path, item.bytes);
    CHECK(message.rfind(path + ": ", 0) == 0);
    CHECK(message.find(item.message) != std::string::npos);
  }

  // Position fields out of range are damage too.
  const auto bad_position = metadata.substr(0, metadata.find("\\\"epoch\\\":1")) +
                            "\\\"epoch\\\":-1" +
                            metadata.substr(metadata.find("\\\"epoch\\\":1") + 11);
  const auto json = bad_position + "}";
  CHECK(error_of(path, seal_checkpoint_bytes(length_prefix(json.size()) + json))
            .find("epoch is not an integer from 0") != std::string::npos);
}

TEST_CASE("a checkpoint of the earlier format is refused with how to convert it") {
  temporary_folder folder("checkpoint-legacy");
  const auto path = folder.file("old.ckpt");
  const auto message = error_of(path, std::string("MGCKPT\0\1", 8) + std::string(200, 'x'));
  CHECK(message.rfind(path + ": ", 0) == 0);
  CHECK(message.find("multigrid-export-weights --from-legacy " + path) != std::string::npos);
  CHECK_THROWS_AS(opened_checkpoint{path}, legacy_checkpoint_error);
}

TEST_CASE("a checkpoint is a safetensors file: header, names, dtypes and offsets as documented") {
  temporary_folder folder("checkpoint-layout");
  const auto path = folder.file("layout.ckpt");
  checkpoint_state state;
  state.position.epoch = 3;
  state.config_yaml = "MODEL:\n  NUM_CLASSES: 5\n";
  checkpoint_parts parts;
  parts.save_model = [] {
    return state_dict{{"head.projection.bias", torch::arange(5, torch::kFloat)}};
  };
  write_checkpoint(path, state, parts);
  std::ifstream file(path, std::ios::binary);
  const std::string bytes(std::istreambuf_iterator<char>(file), {});
  const auto index = parse_safetensors(bytes);
  CHECK(index.data_offset % 8 == 0);
  CHECK(bytes.substr(8, 29) == R"({"__metadata__":{"checksum":")");
  CHECK(index.metadata.at("format") == "multigrid-checkpoint");
  CHECK(index.metadata.at("format_version") == "2");
  CHECK(index.metadata.at("config") == state.config_yaml);
  REQUIRE(index.tensors.size() == 1);
  const auto& bias = index.tensors[0];
  CHECK(bias.name == "model.head.projection.bias");
  CHECK(bias.dtype == safetensors_dtype::F32);
  CHECK(bias.shape == std::vector<std::int64_t>{5});
  CHECK(bias.end - bias.begin == 20);
  float third = 0;
  std::memcpy(&third, bytes.data() + index.data_offset + bias.begin + 8, 4);
  CHECK(third == 2.0f);
}
