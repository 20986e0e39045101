// cae-enhance --pacs: a study listed (C-FIND), retrieved (C-GET) into a folder, and the derived
// instances stored back (C-STORE), over DCMTK's DcmSCU. Only we connect: C-GET brings the
// instances over our own association, so no port of ours must be reachable from the PACS (the
// PACS must still know our AE title to answer C-FIND and C-GET). DCMTK stays in the .cpp.
//
//   Pacs pacs = parsePacs("127.0.0.1:4242", "CAE", "ORTHANC", 30);   // InvalidArgument
//   std::vector<SeriesInfo> s = findSeries(pacs, study);   // empty: the PACS has no such study
//   s = sourceSeries(s, "out", " (cae enhanced)");          // not those we derived before
//   Retrieved r = getStudy(pacs, study, uidsOf(s), "out/pacs-in/<study>");  // r.failed: counts
//   ... runBatch on that folder ...
//   PushResult p = pushDerived(pacs, "out", study, resume);   // out/pushed.jsonl
//
// Every call opens its own association and releases it; PacsError (with the peer, the step and
// the reason) when the PACS cannot be reached in time, refuses the association (AE titles),
// accepts none of the proposed presentation contexts, or answers a request with a failure.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "error.hpp"

namespace cae::enhance {

// The PACS did not do what was asked; the message names the peer and the reason.
class PacsError : public Error {
 public:
  using Error::Error;
};

struct Pacs {
  std::string host;
  int port = 104;
  std::string ourAet;       // calling AE title (--aet); the PACS must list it to answer find/get
  std::string theirAet;     // called AE title (--aec)
  int timeoutSeconds = 30;  // TCP connect, association (ACSE) and each DIMSE message
  std::string str() const;  // "THEIRAET@host:port"
};

// HOST:PORT and the AE titles (1..16 characters, no backslash or control characters).
// InvalidArgument naming the bad part.
Pacs parsePacs(const std::string& hostPort, const std::string& ourAet, const std::string& theirAet,
               int timeoutSeconds);

// Whether `uid` is a DICOM UID (digits and dots, at most 64 characters): a study UID given on
// the command line becomes a folder name.
bool isDicomUid(const std::string& uid);

// One series of a study as C-FIND (study root, SERIES level) returns it.
struct SeriesInfo {
  std::string seriesInstanceUid, modality, description, number;
  int instances = -1;  // NumberOfSeriesRelatedInstances; -1 when the PACS does not say
};

// The series of the study, sorted by series number and UID; empty when the PACS has no such
// study.
std::vector<SeriesInfo> findSeries(const Pacs& pacs, const std::string& studyUid);

// The series to retrieve: all but those cae-enhance derived, so that a rerun does not enhance
// its own output: series whose description ends with `suffix` (trimmed; BatchOptions'
// descriptionSuffix) or that OUTDIR's manifest names as a derived series.
std::vector<SeriesInfo> sourceSeries(const std::vector<SeriesInfo>& all, const std::string& outDir,
                                     const std::string& suffix);

// What a C-GET brought.
struct Retrieved {
  std::vector<std::string> files;              // written, one per SOP instance, sorted
  int completed = 0, failed = 0, warning = 0;  // sub-operations as the PACS counted them
  // Why instances were refused on our side (a file that could not be written, an instance
  // without UIDs) or a request ended badly; refused instances are also counted in `failed`.
  std::vector<std::string> errors;
};

// C-GET of the given series of the study (one request per series over one association; none
// given: the whole study) into `dir` (made if missing): files named <SOPInstanceUID>.dcm,
// written under a temporary name and renamed, in the transfer syntax the PACS sent (the common
// uncompressed ones, RLE, JPEG baseline/extended/lossless and JPEG-LS are negotiated for the
// image storage classes of CT, MR, CR, DX, MG, SC, NM, PET, XA, RF, US and RT images; the PACS
// transcodes what it holds in another syntax, e.g. JPEG 2000). Sub-operation failures are
// counted, not thrown (a request that breaks off after instances came is listed in `errors`);
// PacsError when the association cannot be made or a request fails before anything came.
Retrieved getStudy(const Pacs& pacs, const std::string& studyUid,
                   const std::vector<std::string>& seriesUids, const std::string& dir);

// C-STORE of DICOM files over one association: each file's SOP class with its transfer syntax
// (explicit VR little endian for what writeDerivedDicom writes). `stored(file, sopInstanceUid)`
// is called after each instance the PACS accepted (status success or warning). Returns one
// "file: reason" per file that was not stored; PacsError when the association cannot be made.
using StoredFn = std::function<void(const std::string& file, const std::string& sopInstanceUid)>;
std::vector<std::string> storeFiles(const Pacs& pacs, const std::vector<std::string>& files,
                                    const StoredFn& stored);

// The push of a --pacs job: the derived instances the manifest (OUTDIR/manifest.jsonl) lists
// for the study's folder (OUTDIR/<study>/...) that exist, stored to the PACS; each stored one is
// appended to OUTDIR/pushed.jsonl ({"output","output_sha256","sop_instance_uid","pacs"}, one
// write per line). With `resume`, outputs that pushed.jsonl lists with the same hash for the
// same PACS are not sent again.
struct PushResult {
  int pushed = 0, skipped = 0;      // skipped: already pushed (resume)
  std::vector<std::string> failed;  // "file: reason"
  std::string pushedPath;
};
PushResult pushDerived(const Pacs& pacs, const std::string& outDir, const std::string& studyUid,
                       bool resume);

}  // namespace cae::enhance
