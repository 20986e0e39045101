// DCMTK set-up shared by the DICOM readers and writers (dicom.cpp, dicom_series.cpp): the
// decoders' registration and the check that a path is a readable file. Internal to core/io; no
// DCMTK types in this header.
#pragma once

#include <string>

namespace cae::io::detail {

// Registers DCMTK's JPEG, JPEG-LS and RLE decoders once per process (DCMTK's registration is
// global and not thread-safe) and lowers DCMTK's own log to fatal errors: failures come back to
// the caller as exceptions, which the log would only repeat.
void initDcmtk();

// IoError "cannot open DICOM file 'PATH': ..." when the path is missing, a folder or unreadable.
void checkReadableDicom(const std::string& path);

}  // namespace cae::io::detail
