#define BOOST_TEST_MODULE hash
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "error.hpp"
#include "io/hash.hpp"

namespace io = cae::io;
namespace fs = std::filesystem;

// FIPS 180-2 test vectors.
BOOST_AUTO_TEST_CASE(known_digests) {
  BOOST_TEST(io::hex(io::sha256(std::string())) ==
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(io::hex(io::sha256(std::string("abc"))) ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(io::hex(io::sha256(
                 std::string("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))) ==
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// A file's digest is its bytes' digest, also for files longer than the 1 MiB read block; a
// missing file is an IoError.
BOOST_AUTO_TEST_CASE(file_digest_is_the_bytes_digest) {
  const fs::path p = fs::temp_directory_path() / ("cae-hash-" + std::to_string(::getpid()));
  std::string bytes;
  for (int i = 0; i < 3'000'000; ++i) bytes.push_back(char(i * 7 + i / 1000));
  {
    std::ofstream f(p, std::ios::binary);
    f.write(bytes.data(), std::streamsize(bytes.size()));
  }
  BOOST_TEST(io::hex(io::sha256File(p.string())) == io::hex(io::sha256(bytes)));
  fs::remove(p);
  BOOST_CHECK_THROW(io::sha256File(p.string()), cae::IoError);
}
