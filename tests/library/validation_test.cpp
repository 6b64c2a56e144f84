#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <multigrid/validation.hpp>
#include <string>

#include "kinetics_config.hpp"

using namespace multigrid;

namespace {

// The single error of a configuration that should have exactly one.
config_error only_error(const config& cfg) {
  const auto errors = validate(cfg);
  REQUIRE(errors.size() == 1);
  return errors.front();
}

bool mentions(const config_error& error, const std::string& text) {
  return error.message.find(text) != std::string::npos;
}

const double not_a_number = std::numeric_limits<double>::quiet_NaN();
const double infinity = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("The published configs validate") {
  CHECK(validate(testing::kinetics_slowfast_multigrid()).empty());
  CHECK(validate(testing::ssv2_slowfast_multigrid()).empty());
  CHECK(validate(testing::charades_slowfast_multigrid()).empty());
  CHECK(validate(config{}).empty());  // PySlowFast's defaults
}

TEST_CASE("Every problem is reported at once") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.batch_size = 0;
  cfg.data.num_frames = -1;
  cfg.solver.base_lr = not_a_number;
  cfg.multigrid.epoch_factor = 0;
  CHECK(validate(cfg).size() == 4);
  try {
    throw_if_invalid(cfg);
    FAIL("expected invalid_config");
  } catch (const invalid_config& error) {
    CHECK(error.errors().size() == 4);
    const std::string text = error.what();
    CHECK(text.find("TRAIN.BATCH_SIZE = 0") != std::string::npos);
    CHECK(text.find("DATA.NUM_FRAMES = -1") != std::string::npos);
    CHECK(text.find("SOLVER.BASE_LR = nan") != std::string::npos);
    CHECK(text.find("MULTIGRID.EPOCH_FACTOR = 0") != std::string::npos);
  }
}

TEST_CASE("Top-level and DATA fields") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  SUBCASE("NUM_GPUS negative") {
    cfg.num_gpus = -2;
    const auto error = only_error(cfg);
    CHECK(error.field == "NUM_GPUS");
    CHECK(error.value == "-2");
  }
  SUBCASE("batch not divisible by the number of GPUs") {
    cfg.batch_size = 60;
    const auto error = only_error(cfg);
    CHECK(error.field == "TRAIN.BATCH_SIZE");
    CHECK(error.value == "60");
    CHECK(mentions(error, "divisible by NUM_GPUS (8)"));
  }
  SUBCASE("NUM_GPUS 0 is one process and divides anything") {
    cfg.num_gpus = 0;
    cfg.batch_size = 63;
    CHECK(validate(cfg).empty());
  }
  SUBCASE("sampling rate") {
    cfg.data.sampling_rate = 0;
    CHECK(only_error(cfg).field == "DATA.SAMPLING_RATE");
  }
  SUBCASE("crop") {
    cfg.data.train_crop_size = 0;
    CHECK(only_error(cfg).field == "DATA.TRAIN_CROP_SIZE");
  }
  SUBCASE("jitter order") {
    cfg.data.train_jitter_scales = {320, 256};
    const auto error = only_error(cfg);
    CHECK(error.field == "DATA.TRAIN_JITTER_SCALES");
    CHECK(error.value == "[320, 256]");
  }
  SUBCASE("jitter sign") {
    cfg.data.train_jitter_scales = {0, 256};
    CHECK(mentions(only_error(cfg), "positive"));
  }
}

TEST_CASE("SOLVER fields") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  SUBCASE("STEPS must start at 0") {
    cfg.solver.steps = {5, 94, 154, 196};
    const auto error = only_error(cfg);
    CHECK(error.field == "SOLVER.STEPS");
    CHECK(error.value == "[5, 94, 154, 196]");
    CHECK(mentions(error, "start at 0"));
  }
  SUBCASE("STEPS must increase") {
    cfg.solver.steps = {0, 94, 94, 196};
    const auto error = only_error(cfg);
    CHECK(error.field == "SOLVER.STEPS[2]");
    CHECK(error.value == "94");
  }
  SUBCASE("MAX_EPOCH below the last step") {
    cfg.solver.max_epoch = 150;
    const auto error = only_error(cfg);
    CHECK(error.field == "SOLVER.MAX_EPOCH");
    CHECK(mentions(error, "196"));
  }
  SUBCASE("MAX_EPOCH positive") {
    cfg.solver.steps = {0};
    cfg.solver.max_epoch = 0;
    CHECK(only_error(cfg).field == "SOLVER.MAX_EPOCH");
  }
  SUBCASE("empty STEPS with a stepwise policy") {
    cfg.solver.steps = {};
    const auto error = only_error(cfg);
    CHECK(error.field == "SOLVER.STEPS");
    CHECK(error.value == "[]");
    CHECK(mentions(error, "steps_with_relative_lrs"));
  }
  SUBCASE("empty STEPS with steps") {
    cfg.solver.steps = {};
    cfg.solver.policy = lr_policy::steps;
    CHECK(mentions(only_error(cfg), "steps needs"));
  }
  SUBCASE("LRS shorter than STEPS without the long cycle") {
    cfg.multigrid.long_cycle = false;
    cfg.solver.lrs = {1, 0.1};
    const auto error = only_error(cfg);
    CHECK(error.field == "SOLVER.LRS");
    CHECK(error.value == "[1, 0.1]");
  }
  SUBCASE("the long cycle writes its own LRS") {
    cfg.solver.lrs = {};
    CHECK(validate(cfg).empty());
  }
  SUBCASE("non-finite LRS entry") {
    cfg.solver.lrs[1] = infinity;
    const auto error = only_error(cfg);
    CHECK(error.field == "SOLVER.LRS[1]");
    CHECK(error.value == "inf");
  }
  SUBCASE("BASE_LR") {
    cfg.solver.base_lr = -0.1;
    CHECK(only_error(cfg).field == "SOLVER.BASE_LR");
  }
  SUBCASE("GAMMA") {
    cfg.solver.gamma = 0;
    CHECK(only_error(cfg).field == "SOLVER.GAMMA");
  }
  SUBCASE("WARMUP_EPOCHS") {
    cfg.solver.warmup_epochs = not_a_number;
    CHECK(only_error(cfg).field == "SOLVER.WARMUP_EPOCHS");
  }
  SUBCASE("WARMUP_START_LR") {
    cfg.solver.warmup_start_lr = -infinity;
    CHECK(only_error(cfg).field == "SOLVER.WARMUP_START_LR");
  }
  SUBCASE("COSINE_END_LR must be below BASE_LR") {
    cfg.solver.policy = lr_policy::cosine;
    cfg.solver.cosine_end_lr = 0.1;
    const auto error = only_error(cfg);
    CHECK(error.field == "SOLVER.COSINE_END_LR");
    CHECK(error.value == "0.1");
  }
  SUBCASE("COSINE_END_LR finite") {
    cfg.solver.policy = lr_policy::cosine_batch_scaled;
    cfg.solver.cosine_end_lr = not_a_number;
    CHECK(only_error(cfg).field == "SOLVER.COSINE_END_LR");
  }
  SUBCASE("cosine after a warm-up as long as training") {
    cfg.solver.policy = lr_policy::cosine;
    cfg.solver.cosine_after_warmup = true;
    cfg.solver.warmup_epochs = 239;
    CHECK(only_error(cfg).field == "SOLVER.WARMUP_EPOCHS");
  }
}

TEST_CASE("MULTIGRID fields") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  SUBCASE("EPOCH_FACTOR") {
    cfg.multigrid.epoch_factor = -1.5;
    const auto error = only_error(cfg);
    CHECK(error.field == "MULTIGRID.EPOCH_FACTOR");
    CHECK(error.value == "-1.5");
  }
  SUBCASE("a long-cycle factor <= 0") {
    cfg.multigrid.long_cycle_factors[1] = {0.5, 0};
    const auto error = only_error(cfg);
    CHECK(error.field == "MULTIGRID.LONG_CYCLE_FACTORS[1]");
    CHECK(error.value == "[0.5, 0]");
  }
  SUBCASE("a long-cycle factor above 1") {
    cfg.multigrid.long_cycle_factors[0] = {2, 1};
    CHECK(only_error(cfg).field == "MULTIGRID.LONG_CYCLE_FACTORS[0]");
  }
  SUBCASE("the last long-cycle factor must be (1, 1)") {
    cfg.multigrid.long_cycle_factors.back() = {1, 0.5};
    const auto error = only_error(cfg);
    CHECK(error.field == "MULTIGRID.LONG_CYCLE_FACTORS[3]");
    CHECK(mentions(error, "(1, 1)"));
  }
  SUBCASE("no long-cycle factors") {
    cfg.multigrid.long_cycle_factors.clear();
    CHECK(only_error(cfg).field == "MULTIGRID.LONG_CYCLE_FACTORS");
  }
  SUBCASE("a long-cycle factor that rounds to 0 frames") {
    cfg.data.num_frames = 1;
    cfg.multigrid.long_cycle_factors[0] = {0.25, 1};
    const auto errors = validate(cfg);
    REQUIRE_FALSE(errors.empty());
    CHECK(errors.front().field == "MULTIGRID.LONG_CYCLE_FACTORS[0]");
    CHECK(mentions(errors.front(), "0 frames"));
  }
  SUBCASE("a short-cycle factor <= 0") {
    cfg.multigrid.short_cycle_factors[0] = 0;
    const auto error = only_error(cfg);
    CHECK(error.field == "MULTIGRID.SHORT_CYCLE_FACTORS[0]");
  }
  SUBCASE("a long-cycle crop too small for the short cycle") {
    cfg.multigrid.long_cycle_factors[0] = {0.25, 0.25};
    const auto errors = validate(cfg);
    REQUIRE(errors.size() == 2);  // both short-cycle crops are larger than 56 px
    CHECK(errors[0].field == "MULTIGRID.LONG_CYCLE_FACTORS[0]");
    CHECK(mentions(errors[0], "batch factor of 0"));
  }
  SUBCASE("BN_BASE_SIZE") {
    cfg.multigrid.bn_base_size = 0;
    CHECK(only_error(cfg).field == "MULTIGRID.BN_BASE_SIZE");
  }
  SUBCASE("DEFAULT_S") {
    cfg.multigrid.default_s = -224;
    CHECK(only_error(cfg).field == "MULTIGRID.DEFAULT_S");
  }
  SUBCASE("MULTIGRID is not checked when it is off") {
    cfg.multigrid.long_cycle = false;
    cfg.multigrid.short_cycle = false;
    cfg.multigrid.epoch_factor = -1;
    CHECK(validate(cfg).empty());
  }
}
