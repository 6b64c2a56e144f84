#include "data/synthetic_scene.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "data/frame_code.hpp"

namespace multigrid::reference {
namespace {

constexpr double pi = 3.14159265358979323846;

// Motion per second, relative to the frame's short side; rotation in degrees per second.
constexpr double translation_per_second = 0.8;
constexpr double rotation_degrees_per_second = 180;
constexpr double scaling_period_seconds = 2.5;  // sizes grow (or shrink) 2.5x, then restart
constexpr double scaling_ratio = 2.5;

double length(double x, double y) {
  return std::sqrt(x * x + y * y);
}

/// Signed distance to an equilateral triangle of circumradius r centred at the origin.
double triangle_distance(double px, double py, double r) {
  const double k = std::sqrt(3.0);
  const double side = r * k;  // side length
  px = std::fabs(px) - side / 2;
  py = py + r / 2;
  if (px + k * py > 0) {
    const double nx = (px - k * py) / 2;
    const double ny = (-k * px - py) / 2;
    px = nx;
    py = ny;
  }
  px -= std::clamp(px, -side, 0.0);
  return -length(px, py) * (py < 0 ? -1 : 1);
}

}  // namespace

enum class shape_form { ellipse, rectangle, triangle };

struct shape_appearance {
  shape_form form = shape_form::ellipse;
  double x = 0, y = 0;  ///< centre in the middle of the video, pixels
  double size = 0;      ///< half extent, pixels
  double aspect = 1;    ///< second half extent = size * aspect
  double angle = 0;     ///< radians
  double phase = 0;     ///< of the scaling sawtooth, seconds
  std::uint8_t colour[3] = {};
};

const std::vector<motion_class>& motion_classes() {
  using kind = motion_class::kind;
  static const std::vector<motion_class> classes = {
      {"moving right", kind::translation, 0, 1, 1},
      {"moving left", kind::translation, 180, 1, 1},
      {"moving up", kind::translation, 90, 1, 1},
      {"moving down", kind::translation, 270, 1, 1},
      {"rotating clockwise", kind::rotation, 0, 1, 1},
      {"rotating counterclockwise", kind::rotation, 0, -1, 1},
      {"growing", kind::scaling, 0, 1, 1},
      {"shrinking", kind::scaling, 0, -1, 1},
      {"moving right fast", kind::translation, 0, 1, 2.5},
      {"moving left fast", kind::translation, 180, 1, 2.5},
      {"moving up fast", kind::translation, 90, 1, 2.5},
      {"moving down fast", kind::translation, 270, 1, 2.5},
      {"moving up and right", kind::translation, 45, 1, 1},
      {"moving down and left", kind::translation, 225, 1, 1},
      {"moving up and left", kind::translation, 135, 1, 1},
      {"moving down and right", kind::translation, 315, 1, 1},
      {"standing still", kind::still, 0, 1, 1},
  };
  return classes;
}

int motion_class_index(const std::string& name) {
  const auto& classes = motion_classes();
  for (std::size_t i = 0; i < classes.size(); ++i) {
    if (classes[i].name == name) return static_cast<int>(i);
  }
  std::string known;
  for (const auto& motion : classes) known += (known.empty() ? "" : ", ") + motion.name;
  throw std::invalid_argument("no motion class is called `" + name + "`; the classes are " + known);
}

void check_scene_style(const scene_style& style) {
  const auto fail = [](const std::string& message) { throw std::invalid_argument(message); };
  if (style.min_objects < 1 || style.max_objects < style.min_objects || style.max_objects > 64) {
    fail("the object count must be a range within 1 to 64, not " +
         std::to_string(style.min_objects) + "-" + std::to_string(style.max_objects));
  }
  if (!(style.min_object_size > 0) || !(style.max_object_size >= style.min_object_size) ||
      style.max_object_size > 1) {
    fail("the object size must be a range within (0, 1] of the short side, not " +
         std::to_string(style.min_object_size) + "-" + std::to_string(style.max_object_size));
  }
  if (!(style.noise >= 0) || style.noise > 255) {
    fail("the noise must be between 0 and 255 grey levels, not " + std::to_string(style.noise));
  }
}

synthetic_scene::~synthetic_scene() = default;
synthetic_scene::synthetic_scene(synthetic_scene&&) noexcept = default;
synthetic_scene& synthetic_scene::operator=(synthetic_scene&&) noexcept = default;

synthetic_scene::synthetic_scene(scene_content content, const motion_class& motion, int width,
                                 int height, double fps, std::uint64_t seed,
                                 const scene_style& style)
    : content_(content),
      motion_(motion),
      width_(width),
      height_(height),
      fps_(fps),
      noise_(style.noise),
      noise_seed_(combine_seed({seed, 0x6e6f697365ULL})) {
  check_scene_style(style);
  // Appearance first, from the seed alone: it must not depend on the class. Shared colours come
  // from a stream that is the same for every video; otherwise from the video's own stream.
  random_stream random(seed);
  random_stream shared(combine_seed({0x636f6c6f7572ULL}));
  random_stream& colours = style.shared_colours ? shared : random;
  for (auto& colour : background_) {
    for (auto& level : colour) level = static_cast<std::uint8_t>(colours.integer(40, 215));
  }
  if (style.flat_background) std::copy(background_[0], background_[0] + 3, background_[1]);
  gradient_angle_ = random.uniform(0, 2 * pi);
  speed_jitter_ = random.uniform(0.8, 1.2);
  const int count = static_cast<int>(random.integer(style.min_objects, style.max_objects));
  const double short_side = std::min(width, height);
  for (int i = 0; i < count; ++i) {
    shape_appearance shape;
    shape.form = static_cast<shape_form>(random.integer(0, 2));
    shape.x = random.uniform(0, width);
    shape.y = random.uniform(0, height);
    shape.size = short_side * random.uniform(style.min_object_size, style.max_object_size);
    shape.aspect = random.uniform(0.45, 0.7);
    shape.angle = random.uniform(0, 2 * pi);
    shape.phase = random.uniform(0, scaling_period_seconds);
    // Shapes contrast with the background: each channel far from the background's mean.
    for (int c = 0; c < 3; ++c) {
      const int mean = (background_[0][c] + background_[1][c]) / 2;
      const int level = static_cast<int>(colours.integer(0, 80));
      shape.colour[c] = static_cast<std::uint8_t>(mean > 127 ? level : 255 - level);
    }
    shapes_.push_back(shape);
  }
}

void synthetic_scene::render(int index, std::uint8_t* rgb, int stride) const {
  if (content_ == scene_content::frame_code) {
    render_frame_code(index, rgb, stride);
  } else {
    render_motion(index, rgb, stride);
  }
}

void synthetic_scene::render_frame_code(int index, std::uint8_t* rgb, int stride) const {
  const auto colour = frame_code_colour(index);
  const int band_rows = std::max(1, height_ / 8);
  const int band_columns = std::max(1, width_ / 8);
  for (int y = 0; y < height_; ++y) {
    std::uint8_t* row = rgb + static_cast<std::ptrdiff_t>(y) * stride;
    for (int x = 0; x < width_; ++x) {
      const std::uint8_t* value = colour.data();
      static constexpr std::uint8_t dark[3] = {0, 0, 0};
      static constexpr std::uint8_t light[3] = {255, 255, 255};
      if (y < band_rows) {
        value = dark;
      } else if (x < band_columns) {
        value = light;
      }
      row[3 * x] = value[0];
      row[3 * x + 1] = value[1];
      row[3 * x + 2] = value[2];
    }
  }
}

void synthetic_scene::render_motion(int index, std::uint8_t* rgb, int stride) const {
  // Background: a static two-colour gradient.
  const double gx = std::cos(gradient_angle_);
  const double gy = std::sin(gradient_angle_);
  const double extent = std::fabs(gx) * width_ + std::fabs(gy) * height_;
  for (int y = 0; y < height_; ++y) {
    std::uint8_t* row = rgb + static_cast<std::ptrdiff_t>(y) * stride;
    for (int x = 0; x < width_; ++x) {
      double t = ((x - width_ / 2.0) * gx + (y - height_ / 2.0) * gy) / extent + 0.5;
      t = std::clamp(t, 0.0, 1.0);
      for (int c = 0; c < 3; ++c) {
        row[3 * x + c] = static_cast<std::uint8_t>(
            std::lround(background_[0][c] * (1 - t) + background_[1][c] * t));
      }
    }
  }

  // Time is measured from the middle of the video's first 10 seconds, so that the appearance
  // drawn (positions, sizes) is what the middle of a clip shows on average.
  const double seconds = index / fps_ - 5.0;
  const double short_side = std::min(width_, height_);
  const double speed = motion_.speed * speed_jitter_;
  for (const auto& shape : shapes_) {
    double cx = shape.x;
    double cy = shape.y;
    double angle = shape.angle;
    double size = shape.size;
    switch (motion_.motion) {
      case motion_class::kind::translation: {
        const double distance = translation_per_second * short_side * speed * seconds;
        const double radians = motion_.direction_degrees * pi / 180;
        cx += distance * std::cos(radians);
        cy -= distance * std::sin(radians);  // image y grows downwards
        break;
      }
      case motion_class::kind::rotation:
        angle += motion_.sign * rotation_degrees_per_second * speed * seconds * pi / 180;
        break;
      case motion_class::kind::still:
        break;
      case motion_class::kind::scaling: {
        const double phase =
            std::fmod(seconds * speed + shape.phase + 1000 * scaling_period_seconds,
                      scaling_period_seconds) /
                scaling_period_seconds -
            0.5;
        size *= std::pow(scaling_ratio, motion_.sign * phase);
        break;
      }
    }
    cx = std::fmod(std::fmod(cx, width_) + width_, width_);
    cy = std::fmod(std::fmod(cy, height_) + height_, height_);
    const double half_x = size;
    const double half_y = size * shape.aspect;
    const double reach = std::max(half_x, half_y) + 2;
    const double cosine = std::cos(angle);
    const double sine = std::sin(angle);
    // The shape and its copies across the edges (the frame wraps around).
    for (int wrap_y = -1; wrap_y <= 1; ++wrap_y) {
      for (int wrap_x = -1; wrap_x <= 1; ++wrap_x) {
        const double ox = cx + wrap_x * width_;
        const double oy = cy + wrap_y * height_;
        const int x0 = std::max(0, static_cast<int>(std::floor(ox - reach)));
        const int x1 = std::min(width_ - 1, static_cast<int>(std::ceil(ox + reach)));
        const int y0 = std::max(0, static_cast<int>(std::floor(oy - reach)));
        const int y1 = std::min(height_ - 1, static_cast<int>(std::ceil(oy + reach)));
        for (int y = y0; y <= y1; ++y) {
          std::uint8_t* row = rgb + static_cast<std::ptrdiff_t>(y) * stride;
          for (int x = x0; x <= x1; ++x) {
            const double dx = x + 0.5 - ox;
            const double dy = y + 0.5 - oy;
            const double lx = dx * cosine + dy * sine;
            const double ly = -dx * sine + dy * cosine;
            double distance = 0;
            switch (shape.form) {
              case shape_form::ellipse:
                distance = (length(lx / half_x, ly / half_y) - 1) * std::min(half_x, half_y);
                break;
              case shape_form::rectangle: {
                const double qx = std::fabs(lx) - half_x;
                const double qy = std::fabs(ly) - half_y;
                distance =
                    length(std::max(qx, 0.0), std::max(qy, 0.0)) + std::min(std::max(qx, qy), 0.0);
                break;
              }
              case shape_form::triangle:
                distance = triangle_distance(lx, ly * half_x / half_y, half_x);
                break;
            }
            const double coverage = std::clamp(0.5 - distance, 0.0, 1.0);
            if (coverage <= 0) continue;
            for (int c = 0; c < 3; ++c) {
              const double blended = row[3 * x + c] * (1 - coverage) + shape.colour[c] * coverage;
              row[3 * x + c] = static_cast<std::uint8_t>(std::lround(blended));
            }
          }
        }
      }
    }
  }

  if (noise_ > 0) {
    // Fresh noise in every frame, so that it carries no motion and no identity.
    for (int y = 0; y < height_; ++y) {
      std::uint8_t* row = rgb + static_cast<std::ptrdiff_t>(y) * stride;
      for (int x = 0; x < width_; ++x) {
        const std::uint64_t bits =
            combine_seed({noise_seed_, static_cast<std::uint64_t>(index),
                          static_cast<std::uint64_t>(y), static_cast<std::uint64_t>(x)});
        const double offset = (static_cast<double>(bits >> 11) * 0x1.0p-53 * 2 - 1) * noise_;
        for (int c = 0; c < 3; ++c) {
          row[3 * x + c] =
              static_cast<std::uint8_t>(std::clamp(std::lround(row[3 * x + c] + offset), 0L, 255L));
        }
      }
    }
  }
}

}  // namespace multigrid::reference
