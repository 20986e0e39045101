#include "enhance/pacs.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

// DCMTK's config header must come first; the others depend on its macros.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/scu.h>
#include <dcmtk/oflog/oflog.h>

#include "enhance/batch.hpp"
#include "enhance/durable.hpp"
#include "io/hash.hpp"

namespace cae::enhance {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The image storage classes a C-GET asks for: the ones whose monochrome images cae-enhance
// reads. Each is proposed once per group of transfer syntaxes below (5 contexts a class, 120 of
// the 128 an association may have), so the PACS can send what it holds unchanged.
const char* const kImageClasses[] = {
    UID_CTImageStorage,
    UID_EnhancedCTImageStorage,
    UID_LegacyConvertedEnhancedCTImageStorage,
    UID_MRImageStorage,
    UID_EnhancedMRImageStorage,
    UID_LegacyConvertedEnhancedMRImageStorage,
    UID_ComputedRadiographyImageStorage,
    UID_DigitalXRayImageStorageForPresentation,
    UID_DigitalXRayImageStorageForProcessing,
    UID_DigitalMammographyXRayImageStorageForPresentation,
    UID_DigitalMammographyXRayImageStorageForProcessing,
    UID_SecondaryCaptureImageStorage,
    UID_MultiframeGrayscaleByteSecondaryCaptureImageStorage,
    UID_MultiframeGrayscaleWordSecondaryCaptureImageStorage,
    UID_NuclearMedicineImageStorage,
    UID_PositronEmissionTomographyImageStorage,
    UID_EnhancedPETImageStorage,
    UID_LegacyConvertedEnhancedPETImageStorage,
    UID_XRayAngiographicImageStorage,
    UID_XRayRadiofluoroscopicImageStorage,
    UID_UltrasoundImageStorage,
    UID_UltrasoundMultiframeImageStorage,
    UID_BreastTomosynthesisImageStorage,
    UID_RTImageStorage,
};

// One presentation context accepts one transfer syntax: a context per group lets the PACS pick
// the one an instance is in. Everything here is decoded by DCMTK (io/dicom_series.cpp); what the
// PACS holds otherwise (JPEG 2000) it transcodes to one of these.
const std::vector<std::vector<const char*>> kSyntaxGroups = {
    {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax,
     UID_BigEndianExplicitTransferSyntax, UID_DeflatedExplicitVRLittleEndianTransferSyntax},
    {UID_RLELosslessTransferSyntax},
    {UID_JPEGProcess14SV1TransferSyntax, UID_JPEGProcess14TransferSyntax},
    {UID_JPEGProcess1TransferSyntax, UID_JPEGProcess2_4TransferSyntax},
    {UID_JPEGLSLosslessTransferSyntax, UID_JPEGLSLossyTransferSyntax},
};

void quietDcmtk() {
  static std::once_flag once;
  // Failures come back as PacsError; DCMTK's own log would only repeat them on stderr.
  std::call_once(once, [] { OFLog::configure(OFLogger::FATAL_LOG_LEVEL); });
}

OFList<OFString> syntaxes(const std::vector<const char*>& uids) {
  OFList<OFString> l;
  for (const char* u : uids) l.push_back(u);
  return l;
}

// DCMTK's condition text, nested conditions on one line.
std::string text(const OFCondition& c) {
  std::string s = c.text();
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

std::string hex4(unsigned status) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", status & 0xffffU);
  return buf;
}

void configure(DcmSCU& scu, const Pacs& p) {
  quietDcmtk();
  scu.setAETitle(p.ourAet.c_str());
  scu.setPeerHostName(p.host.c_str());
  scu.setPeerPort(Uint16(p.port));
  scu.setPeerAETitle(p.theirAet.c_str());
  scu.setConnectionTimeout(Sint32(p.timeoutSeconds));
  scu.setACSETimeout(Uint32(p.timeoutSeconds));
  // DIMSE timeouts only apply in non-blocking mode.
  scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  scu.setDIMSETimeout(Uint32(p.timeoutSeconds));
}

// Opens the association; PacsError saying which of the usual causes it was.
void associate(DcmSCU& scu, const Pacs& p, const std::string& what) {
  OFCondition c = scu.initNetwork();
  if (c.bad()) throw PacsError(what + " to " + p.str() + ": cannot set up the network: " + text(c));
  c = scu.negotiateAssociation();
  if (c.good()) return;
  if (c == DUL_ASSOCIATIONREJECTED)
    throw PacsError(what + ": association rejected by " + p.str() +
                    " (check --aec, the PACS's AE title, and that the PACS knows our AE title '" +
                    p.ourAet + "' (--aet) at this host)");
  if (c == NET_EC_NoAcceptablePresentationContexts)
    throw PacsError(what + ": " + p.str() +
                    " accepted none of the proposed presentation contexts (it does not offer "
                    "this service or these SOP classes / transfer syntaxes)");
  const std::string t = text(c);
  if (c == DUL_READTIMEOUT || t.find("timeout") != std::string::npos ||
      t.find("timed out") != std::string::npos)
    throw PacsError(what + ": no answer from PACS " + p.str() + " within " +
                    std::to_string(p.timeoutSeconds) + " s (--pacs-timeout): " + t);
  throw PacsError(what + ": cannot reach PACS " + p.str() + ": " + t);
}

// Why a request on an open association failed, with the likely cause where DCMTK's words hide
// it (a PACS that does not know our AE title may accept the association and abort the request).
std::string requestFailed(const std::string& what, const Pacs& p, const OFCondition& c) {
  std::string m = what + " on " + p.str() + " failed: " + text(c);
  if (c == DUL_PEERABORTEDASSOCIATION)
    m += " (a PACS aborts requests from AE titles it does not know: is '" + p.ourAet +
         "' (--aet) configured there?)";
  else if (c == DIMSE_NODATAAVAILABLE || c == DUL_READTIMEOUT)
    m += " (no answer within " + std::to_string(p.timeoutSeconds) + " s, --pacs-timeout)";
  return m;
}

template <class T>
std::vector<std::unique_ptr<T>> own(OFList<T*>& l) {
  std::vector<std::unique_ptr<T>> v;
  for (T* r : l) v.emplace_back(r);
  l.clear();
  return v;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, s.find_last_not_of(' ') - b + 1);
}

// A tag's value as text, padding removed; empty when absent.
std::string str(DcmItem& d, const DcmTagKey& tag) {
  OFString v;
  d.findAndGetOFStringArray(tag, v);
  return trim(v.c_str());
}

}  // namespace

std::string Pacs::str() const { return theirAet + "@" + host + ":" + std::to_string(port); }

bool isDicomUid(const std::string& uid) {
  if (uid.empty() || uid.size() > 64 || uid.front() == '.' || uid.back() == '.') return false;
  for (std::size_t i = 0; i < uid.size(); ++i) {
    const char c = uid[i];
    if (c == '.' && uid[i - 1] == '.') return false;
    if (c != '.' && (c < '0' || c > '9')) return false;
  }
  return true;
}

Pacs parsePacs(const std::string& hostPort, const std::string& ourAet, const std::string& theirAet,
               int timeoutSeconds) {
  Pacs p;
  const auto colon = hostPort.rfind(':');
  const std::string port = colon == std::string::npos ? "" : hostPort.substr(colon + 1);
  if (colon == std::string::npos || colon == 0 || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
      std::stoi(port) > 65535)
    throw InvalidArgument("--pacs '" + hostPort + "' is not HOST:PORT (port 1..65535)");
  p.host = hostPort.substr(0, colon);
  p.port = std::stoi(port);
  if (p.host.size() > 57) throw InvalidArgument("--pacs host name is over 57 characters");
  for (const auto& [name, aet] : {std::pair{"--aet", ourAet}, std::pair{"--aec", theirAet}}) {
    const bool bad = std::any_of(
        aet.begin(), aet.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f || c == '\\'; });
    if (aet.empty() || aet.size() > 16 || bad || aet.find_first_not_of(' ') == std::string::npos)
      throw InvalidArgument(std::string(name) + " '" + aet +
                            "' is not an AE title (1 to 16 characters, no backslash)");
  }
  p.ourAet = ourAet;
  p.theirAet = theirAet;
  if (timeoutSeconds < 1) throw InvalidArgument("--pacs-timeout must be at least 1 second");
  p.timeoutSeconds = timeoutSeconds;
  return p;
}

std::vector<SeriesInfo> findSeries(const Pacs& pacs, const std::string& studyUid) {
  DcmSCU scu;
  configure(scu, pacs);
  scu.addPresentationContext(UID_FINDStudyRootQueryRetrieveInformationModel,
                             syntaxes(kSyntaxGroups[0]));
  associate(scu, pacs, "C-FIND");
  const T_ASC_PresentationContextID pc =
      scu.findPresentationContextID(UID_FINDStudyRootQueryRetrieveInformationModel, "");
  DcmDataset q;
  q.putAndInsertOFStringArray(DCM_QueryRetrieveLevel, "SERIES");
  q.putAndInsertOFStringArray(DCM_StudyInstanceUID, studyUid.c_str());
  for (const DcmTagKey& k : {DCM_SeriesInstanceUID, DCM_Modality, DCM_SeriesDescription,
                             DCM_SeriesNumber, DCM_NumberOfSeriesRelatedInstances})
    q.insertEmptyElement(k);
  OFList<QRResponse*> list;
  const OFCondition c = scu.sendFINDRequest(pc, &q, &list);
  const auto responses = own(list);
  if (c.bad()) throw PacsError(requestFailed("C-FIND", pacs, c));
  std::vector<SeriesInfo> series;
  for (const auto& r : responses) {
    if (!DICOM_PENDING_STATUS(r->m_status) && !DICOM_SUCCESS_STATUS(r->m_status))
      throw PacsError("C-FIND on " + pacs.str() + " failed: status " + hex4(r->m_status) + " (" +
                      DU_cfindStatusString(r->m_status) +
                      "; a PACS answers only AE titles it knows: is '" + pacs.ourAet +
                      "' configured there?)");
    if (r->m_dataset == nullptr || !DICOM_PENDING_STATUS(r->m_status)) continue;
    SeriesInfo s;
    s.seriesInstanceUid = str(*r->m_dataset, DCM_SeriesInstanceUID);
    s.modality = str(*r->m_dataset, DCM_Modality);
    s.description = str(*r->m_dataset, DCM_SeriesDescription);
    s.number = str(*r->m_dataset, DCM_SeriesNumber);
    const std::string n = str(*r->m_dataset, DCM_NumberOfSeriesRelatedInstances);
    if (!n.empty() && n.find_first_not_of("0123456789 ") == std::string::npos)
      s.instances = std::stoi(n);
    series.push_back(std::move(s));
  }
  scu.releaseAssociation();
  std::sort(series.begin(), series.end(), [](const SeriesInfo& a, const SeriesInfo& b) {
    const long an = std::strtol(a.number.c_str(), nullptr, 10);
    const long bn = std::strtol(b.number.c_str(), nullptr, 10);
    return an != bn ? an < bn : a.seriesInstanceUid < b.seriesInstanceUid;
  });
  return series;
}

namespace {

// A C-GET requestor that writes each instance the PACS sends as <dir>/<SOPInstanceUID>.dcm,
// through a temporary name, in the transfer syntax it came in.
class GetScu : public DcmSCU {
 public:
  explicit GetScu(fs::path dir) : dir_(std::move(dir)) {}
  std::vector<std::string> files, errors;

 protected:
  OFCondition handleSTORERequest(const T_ASC_PresentationContextID /*presID*/, DcmDataset* incoming,
                                 OFBool& /*continueSession*/, Uint16& status) override {
    if (incoming == nullptr) return DIMSE_NULLKEY;
    DcmFileFormat file(incoming, OFFalse);  // takes the dataset over (DcmSCU's contract)
    const std::string sop = str(*file.getDataset(), DCM_SOPInstanceUID);
    // Refused instances are answered with a failure status and counted by the PACS; the
    // session goes on with the others.
    status = STATUS_STORE_Refused_OutOfResources;
    if (!isDicomUid(sop)) {
      errors.push_back("an instance without a valid SOPInstanceUID ('" + sop + "') was refused");
      return EC_Normal;
    }
    const fs::path out = dir_ / (sop + ".dcm");
    const fs::path part = dir_ / (sop + ".dcm.part");
    const OFCondition c = file.saveFile(part.c_str(), EXS_Unknown);
    std::error_code ec;
    if (c.good()) {
      try {
        syncFile(part.string());
        fs::rename(part, out, ec);
      } catch (const IoError&) {
        ec = std::make_error_code(std::errc::io_error);
      }
    }
    if (c.bad() || ec) {
      fs::remove(part, ec);
      errors.push_back("cannot write '" + out.string() + "': " + (c.bad() ? text(c) : "rename"));
      return EC_Normal;
    }
    files.push_back(out.string());
    status = STATUS_Success;
    return EC_Normal;
  }

 private:
  fs::path dir_;
};

}  // namespace

std::vector<SeriesInfo> sourceSeries(const std::vector<SeriesInfo>& all, const std::string& outDir,
                                     const std::string& suffix) {
  std::set<std::string> derived;
  std::ifstream f(fs::path(outDir) / manifestName(0, 1));
  std::string line;
  while (std::getline(f, line)) {
    const json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("derived_series_uid") &&
        j["derived_series_uid"].is_string())
      derived.insert(j["derived_series_uid"].get<std::string>());
  }
  const std::string mark = trim(suffix);
  std::vector<SeriesInfo> source;
  for (const SeriesInfo& s : all) {
    const bool marked =
        !mark.empty() && s.description.size() >= mark.size() &&
        s.description.compare(s.description.size() - mark.size(), mark.size(), mark) == 0;
    if (!marked && derived.count(s.seriesInstanceUid) == 0) source.push_back(s);
  }
  return source;
}

namespace {

// Adds what the final response of one C-GET request says to `r`.
void count(const OFCondition& c, const std::vector<std::unique_ptr<RetrieveResponse>>& responses,
           const std::string& what, Retrieved& r) {
  if (!responses.empty()) {
    const RetrieveResponse& last = *responses.back();
    r.completed += last.m_numberOfCompletedSubops;
    r.failed += last.m_numberOfFailedSubops;
    r.warning += last.m_numberOfWarningSubops;
    if (DICOM_FAILURE_STATUS(last.m_status) || DICOM_CANCEL_STATUS(last.m_status))
      r.errors.push_back(what + " ended with status " + hex4(last.m_status) + " (" +
                         DU_cgetStatusString(last.m_status) + ")");
  }
  if (c.bad()) r.errors.push_back(what + " broke off: " + text(c));
}

}  // namespace

Retrieved getStudy(const Pacs& pacs, const std::string& studyUid,
                   const std::vector<std::string>& seriesUids, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError("cannot make folder '" + dir + "': " + ec.message());
  // Temporary files of a killed run: removed, or the batch would find them by their content.
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".part") fs::remove(e.path(), ec);
  GetScu scu(dir);
  configure(scu, pacs);
  scu.addPresentationContext(UID_GETStudyRootQueryRetrieveInformationModel,
                             syntaxes(kSyntaxGroups[0]));
  for (const char* sopClass : kImageClasses)
    for (const auto& group : kSyntaxGroups)
      scu.addPresentationContext(sopClass, syntaxes(group), ASC_SC_ROLE_SCP);
  associate(scu, pacs, "C-GET");
  const T_ASC_PresentationContextID pc =
      scu.findPresentationContextID(UID_GETStudyRootQueryRetrieveInformationModel, "");
  if (pc == 0) throw PacsError("C-GET: " + pacs.str() + " does not offer C-GET (study root)");
  Retrieved r;
  const std::vector<std::string> requests =
      seriesUids.empty() ? std::vector<std::string>{""} : seriesUids;
  for (const std::string& series : requests) {
    if (!scu.isConnected()) {
      r.errors.push_back("C-GET of series " + series + ": not asked, the association was lost");
      continue;
    }
    DcmDataset q;
    q.putAndInsertOFStringArray(DCM_QueryRetrieveLevel, series.empty() ? "STUDY" : "SERIES");
    q.putAndInsertOFStringArray(DCM_StudyInstanceUID, studyUid.c_str());
    if (!series.empty()) q.putAndInsertOFStringArray(DCM_SeriesInstanceUID, series.c_str());
    OFList<RetrieveResponse*> list;
    const OFCondition c = scu.sendCGETRequest(pc, &q, &list);
    const auto responses = own(list);
    const std::string what = "C-GET " + (series.empty() ? "of the study" : "of series " + series);
    if (c.bad() && responses.empty() && scu.files.empty())
      throw PacsError(requestFailed(what, pacs, c));
    count(c, responses, what, r);
  }
  if (scu.isConnected()) scu.releaseAssociation();
  r.files = scu.files;
  r.errors.insert(r.errors.begin(), scu.errors.begin(), scu.errors.end());
  std::sort(r.files.begin(), r.files.end());
  return r;
}

namespace {

struct StoreItem {
  std::string file, sopClass, sopInstance, syntax;
};

// SOP class, instance and transfer syntax from the file's meta header; empty when unreadable.
StoreItem describe(const std::string& path) {
  StoreItem it{path, "", "", ""};
  DcmFileFormat f;
  if (f.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_metaOnly).bad())
    return it;
  it.sopClass = str(*f.getMetaInfo(), DCM_MediaStorageSOPClassUID);
  it.sopInstance = str(*f.getMetaInfo(), DCM_MediaStorageSOPInstanceUID);
  it.syntax = str(*f.getMetaInfo(), DCM_TransferSyntaxUID);
  return it;
}

}  // namespace

std::vector<std::string> storeFiles(const Pacs& pacs, const std::vector<std::string>& files,
                                    const StoredFn& stored) {
  std::vector<std::string> failed;
  std::vector<StoreItem> items;
  std::set<std::pair<std::string, std::string>> contexts;  // (SOP class, transfer syntax)
  for (const std::string& f : files) {
    StoreItem it = describe(f);
    if (it.sopClass.empty() || it.syntax.empty()) {
      failed.push_back(f + ": not a DICOM file with a meta header");
    } else {
      contexts.emplace(it.sopClass, it.syntax);
      items.push_back(std::move(it));
    }
  }
  if (items.empty()) return failed;
  if (contexts.size() > 128)
    throw PacsError("C-STORE: the files need " + std::to_string(contexts.size()) +
                    " presentation contexts, more than the 128 one association can have");
  DcmSCU scu;
  configure(scu, pacs);
  for (const auto& [sopClass, syntax] : contexts)
    scu.addPresentationContext(sopClass.c_str(), syntaxes({syntax.c_str()}));
  associate(scu, pacs, "C-STORE");
  for (const StoreItem& it : items) {
    if (!scu.isConnected()) {
      failed.push_back(it.file + ": not sent, the association was lost");
      continue;
    }
    if (scu.findPresentationContextID(it.sopClass.c_str(), it.syntax.c_str()) == 0) {
      failed.push_back(it.file + ": " + pacs.str() + " does not accept SOP class " + it.sopClass +
                       " in transfer syntax " + it.syntax);
      continue;
    }
    Uint16 status = 0;
    const OFCondition c = scu.sendSTORERequest(0, it.file.c_str(), nullptr, status);
    if (c.bad())
      failed.push_back(it.file + ": " + text(c));
    else if (!DICOM_SUCCESS_STATUS(status) && !DICOM_WARNING_STATUS(status))
      failed.push_back(it.file + ": refused with status " + hex4(status) + " (" +
                       DU_cstoreStatusString(status) + ")");
    else if (stored)
      stored(it.file, it.sopInstance);
  }
  if (scu.isConnected()) scu.releaseAssociation();
  return failed;
}

namespace {

// The outputs of the manifest under OUTDIR/<study>/ that exist, by relative path.
std::vector<std::string> derivedOutputs(const fs::path& outDir, const std::string& studyUid) {
  std::set<std::string> out;
  std::ifstream f(outDir / manifestName(0, 1));
  std::string line;
  while (std::getline(f, line)) {
    const json j = json::parse(line, nullptr, false);  // a torn last line does not parse
    if (j.is_discarded() || !j.is_object() || !j.contains("output") || !j["output"].is_string())
      continue;
    const fs::path rel(j["output"].get<std::string>());
    std::error_code ec;
    if (rel.begin() != rel.end() && *rel.begin() == studyUid && fs::exists(outDir / rel, ec))
      out.insert(rel.string());
  }
  return {out.begin(), out.end()};
}

}  // namespace

PushResult pushDerived(const Pacs& pacs, const std::string& outDir, const std::string& studyUid,
                       bool resume) {
  PushResult r;
  const fs::path dir(outDir);
  r.pushedPath = (dir / "pushed.jsonl").string();
  std::set<std::pair<std::string, std::string>> done;  // (output, sha256) already on this PACS
  if (resume) {
    std::ifstream f(r.pushedPath);
    std::string line;
    while (std::getline(f, line)) {
      const json j = json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.value("pacs", "") == pacs.str())
        done.emplace(j.value("output", ""), j.value("output_sha256", ""));
    }
  }
  std::map<std::string, std::pair<std::string, std::string>> send;  // file -> (output, sha)
  for (const std::string& rel : derivedOutputs(dir, studyUid)) {
    const std::string file = (dir / rel).string();
    const std::string sha = io::hex(io::sha256File(file));
    if (done.count({rel, sha}) != 0)
      ++r.skipped;
    else
      send[file] = {rel, sha};
  }
  std::vector<std::string> files;
  files.reserve(send.size());
  for (const auto& kv : send) files.push_back(kv.first);
  r.failed = storeFiles(pacs, files, [&](const std::string& file, const std::string& sop) {
    const auto& [rel, sha] = send.at(file);
    const json line = {
        {"output", rel}, {"output_sha256", sha}, {"sop_instance_uid", sop}, {"pacs", pacs.str()}};
    appendLineSynced(r.pushedPath, line.dump() + "\n");
    ++r.pushed;
  });
  return r;
}

}  // namespace cae::enhance
