#include "src/acquire/ewf_segments.h"

#include <cctype>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "src/base/absl_compat.h"
#include "src/base/status_macros.h"

namespace custos::acquire {
namespace {

constexpr size_t kFileHeaderSize = 13;
constexpr size_t kDescriptorSize = 76;
// More sections than any real segment has (a 2 GiB segment of 32 KiB chunks
// has a few thousand); bounds the walk on crafted input.
constexpr uint32_t kMaxSections = 1u << 20;

uint64_t Le64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint32_t Le32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Adler-32 as EWF uses it (RFC 1950 with initial value 1).
uint32_t Adler32(std::string_view d) {
  uint32_t a = 1, b = 0;
  for (unsigned char c : d) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

std::string TypeOf(const char* p) {
  size_t n = strnlen(p, 16);
  std::string t(p, n);
  for (char& c : t)
    if (!std::isprint(static_cast<unsigned char>(c))) c = '?';
  return t;
}

}  // namespace

EwfSignature EwfSignatureOf(std::string_view head) {
  if (head.size() < 8) return EwfSignature::kNone;
  std::string_view s = head.substr(0, 8);
  if (s == std::string_view("EVF\x09\x0d\x0a\xff\x00", 8))
    return EwfSignature::kEwf1;
  if (s == std::string_view("LVF\x09\x0d\x0a\xff\x00", 8))
    return EwfSignature::kLogical;
  if (s == std::string_view("EVF2\x0d\x0a\x81\x00", 8))
    return EwfSignature::kEwf2;
  if (s == std::string_view("LEF2\x0d\x0a\x81\x00", 8))
    return EwfSignature::kLogical2;
  return EwfSignature::kNone;
}

absl::StatusOr<SegmentChain> ScanEwfSegment(const ReadAt& read, uint64_t size) {
  CUSTOS_ASSIGN_OR_RETURN(std::string head, read(0, kFileHeaderSize));
  if (head.size() < kFileHeaderSize)
    return absl::DataLossError(absl::StrCat(
        "truncated: ", size, " bytes, shorter than the EWF file header"));
  if (EwfSignatureOf(head) != EwfSignature::kEwf1)
    return absl::InvalidArgumentError("not an EWF1 media segment file");
  SegmentChain chain;
  chain.number =
      static_cast<uint16_t>(static_cast<unsigned char>(head[9]) |
                            (static_cast<unsigned char>(head[10]) << 8));
  if (chain.number == 0)
    return absl::DataLossError("damaged file header: segment number 0");
  uint64_t offset = kFileHeaderSize;
  while (true) {
    if (chain.sections >= kMaxSections)
      return absl::DataLossError(
          absl::StrCat("damaged: more than ", kMaxSections, " sections"));
    if (offset > size || size - offset < kDescriptorSize)
      return absl::DataLossError(
          absl::StrCat("truncated: the section descriptor at offset ", offset,
                       " extends past the end of the file (", size, " bytes)"));
    CUSTOS_ASSIGN_OR_RETURN(std::string d, read(offset, kDescriptorSize));
    if (d.size() < kDescriptorSize)
      return absl::DataLossError(absl::StrCat(
          "truncated: short read of the section descriptor at offset ",
          offset));
    ++chain.sections;
    std::string type = TypeOf(d.data());
    uint32_t stored = Le32(d.data() + 72);
    if (Adler32(std::string_view(d.data(), 72)) != stored)
      return absl::DataLossError(
          absl::StrCat("damaged: checksum mismatch in the section descriptor "
                       "at offset ",
                       offset, " (type \"", Sv(type), "\")"));
    uint64_t next = Le64(d.data() + 16);
    uint64_t section_size = Le64(d.data() + 24);
    if (type == "done" || type == "next") {
      chain.last_section = type;
      chain.end = offset + kDescriptorSize;
      return chain;
    }
    if (section_size != 0 &&
        (section_size > size || offset > size - section_size))
      return absl::DataLossError(absl::StrCat(
          "truncated: section \"", Sv(type), "\" at offset ", offset, " needs ",
          section_size, " bytes, past the end of the file (", size, " bytes)"));
    if (next <= offset)
      return absl::DataLossError(absl::StrCat("damaged: section \"", Sv(type),
                                              "\" at offset ", offset,
                                              " points back to offset ", next));
    if (next > size)
      return absl::DataLossError(
          absl::StrCat("truncated: section \"", Sv(type), "\" at offset ",
                       offset, " continues at offset ", next,
                       ", past the end of the file (", size, " bytes)"));
    offset = next;
  }
}

absl::StatusOr<SegmentChain> ScanEwfSegment(std::string_view file) {
  return ScanEwfSegment(
      [file](uint64_t offset, size_t n) -> absl::StatusOr<std::string> {
        if (offset >= file.size()) return std::string();
        return std::string(file.substr(offset, n));
      },
      file.size());
}

std::string NextEwfExtension(std::string_view ext) {
  if (ext.size() != 3 || !std::isalpha(static_cast<unsigned char>(ext[0])))
    return "";
  const bool upper = std::isupper(static_cast<unsigned char>(ext[0]));
  const char a = upper ? 'A' : 'a', z = upper ? 'Z' : 'z';
  std::string e(ext);
  if (std::isdigit(static_cast<unsigned char>(e[1])) &&
      std::isdigit(static_cast<unsigned char>(e[2]))) {
    int n = (e[1] - '0') * 10 + (e[2] - '0') + 1;
    if (n <= 99) {
      e[1] = static_cast<char>('0' + n / 10);
      e[2] = static_cast<char>('0' + n % 10);
      return e;
    }
    e[1] = a;
    e[2] = a;
    return e;
  }
  for (int i = 1; i < 3; ++i)
    if (e[i] < a || e[i] > z) return "";
  if (e[2] < z) {
    ++e[2];
  } else if (e[1] < z) {
    ++e[1];
    e[2] = a;
  } else if (e[0] != z) {
    ++e[0];
    e[1] = e[2] = a;
  } else {
    return "";
  }
  return e;
}

}  // namespace custos::acquire
