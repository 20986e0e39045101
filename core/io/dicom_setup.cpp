#include "io/dicom_setup.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>

// DCMTK's config header must come first; the others depend on its macros.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include "error.hpp"

namespace cae::io::detail {

void initDcmtk() {
  static std::once_flag once;
  std::call_once(once, [] {
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
  });
}

void checkReadableDicom(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw IoError("cannot open DICOM file '" + path + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw IoError("cannot open DICOM file '" + path + "': it is a folder");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError("cannot open DICOM file '" + path + "': " + std::strerror(errno));
}

}  // namespace cae::io::detail
