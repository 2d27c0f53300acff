// Placing a pixel in arbitrary documents: never crashes, never loses or alters a byte of
// the document, and puts the tag where the result says.
// SPDX-License-Identifier: MIT
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pixel/html.hpp"

#define PIXEL_FUZZ_CHECK(cond) \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view doc(reinterpret_cast<const char*>(data), size);
  const std::string_view tag = "<img src=\"https://h/1x1.png\">";
  const auto placed = pixel::place_pixel(doc, tag);
  PIXEL_FUZZ_CHECK(placed.count >= 1);
  PIXEL_FUZZ_CHECK(placed.offset <= placed.html.size());
  PIXEL_FUZZ_CHECK(std::string_view(placed.html).substr(placed.offset, tag.size()) == tag);
  if (placed.where == pixel::placement::placeholder) {
    const std::string_view ph = "{{pixel}}";
    PIXEL_FUZZ_CHECK(placed.html.size() == size + placed.count * (tag.size() - ph.size()));
    PIXEL_FUZZ_CHECK(doc.substr(0, placed.offset) ==
                     std::string_view(placed.html).substr(0, placed.offset));
  } else {
    // One insertion: the document is intact around it.
    PIXEL_FUZZ_CHECK(placed.html.size() == size + tag.size());
    PIXEL_FUZZ_CHECK(std::string_view(placed.html).substr(0, placed.offset) ==
                     doc.substr(0, placed.offset));
    PIXEL_FUZZ_CHECK(std::string_view(placed.html).substr(placed.offset + tag.size()) ==
                     doc.substr(placed.offset));
    const std::size_t body = pixel::find_body_start(doc);
    if (placed.where == pixel::placement::after_body) {
      PIXEL_FUZZ_CHECK(body == placed.offset && body > 0 && doc[body - 1] == '>');
    } else {
      PIXEL_FUZZ_CHECK(body == std::string_view::npos && placed.offset == size);
    }
  }
  // Escaping: no raw markup characters survive.
  const std::string esc = pixel::html_escape(doc);
  PIXEL_FUZZ_CHECK(esc.find_first_of("<>\"'") == std::string::npos);
  return 0;
}
