// File: bytes.h
//
// Hex and base64 codecs and the escaping used to show raw path bytes.
// Decoders are strict: they reject anything that would not re-encode to the
// same text (non-canonical base64, uppercase hex), because signed formats
// must have exactly one encoding.
//
// Thread-safety: pure functions.
#ifndef CUSTOS_SRC_BASE_BYTES_H_
#define CUSTOS_SRC_BASE_BYTES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace custos {

std::string HexEncode(std::string_view bytes);  // lowercase
// Lowercase hex only; nullopt on odd length or any other character.
std::optional<std::string> HexDecode(std::string_view hex);

// RFC 4648 section 4 standard alphabet with '=' padding.
std::string Base64Encode(std::string_view bytes);
// Strict: standard alphabet, required padding, canonical (re-encodes to the
// same text). nullopt otherwise.
std::optional<std::string> Base64Decode(std::string_view b64);

// Shows arbitrary bytes (e.g. a POSIX file name) as printable UTF-8-safe
// text: printable ASCII and valid multi-byte UTF-8 are kept, '\\' becomes
// "\\\\", \n \t \r are shown as such, every other byte (controls, DEL, bytes
// of invalid UTF-8) as \xHH.
// Injective: distinct inputs give distinct outputs.
std::string EscapeBytes(std::string_view bytes);

// True if `s` is valid UTF-8 (no overlongs, no surrogates).
bool IsValidUtf8(std::string_view s);

}  // namespace custos

#endif  // CUSTOS_SRC_BASE_BYTES_H_
