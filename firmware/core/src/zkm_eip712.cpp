#include "zkm_eip712.h"

#include "zkm_config.h"
#if ZKM_WITH_CRYPTO
#include "zkm_bytes.h"
#include "zkm_keccak.h"

namespace zkm {

static const char DOMAIN_TYPE[] = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
static const char RECORD_TYPE[] =
    "MeterRecord(uint64 seq,uint8 kind,uint64 time,uint64 energyWh,uint32 intervalWh,uint64 exportedWh,"
    "uint32 intervalExportedWh,uint32 powerW,"
    "uint32 voltageMv,uint32 currentMa,uint16 powerFactor,int32 temperatureCenti,uint16 light,uint16 gas,"
    "uint16 water,uint8 hazards,uint8 relays,uint8 fanSpeed)";
static const char PERIOD_TYPE[] =
    "BillingPeriod(address meter,uint64 periodStart,uint64 periodEnd,uint64 startCounter,uint64 endCounter,"
    "uint256 commitment)";
static const char EXPORT_TYPE[] =
    "ExportPeriod(address meter,uint64 periodStart,uint64 periodEnd,uint64 startCounter,uint64 endCounter,"
    "uint256 commitment)";
static const char GONE_TYPE[] = "RecordsGone(address meter,uint64 fromSeq,uint64 toSeq)";

static void hashText(Keccak256 &k, const char *text, uint8_t out[32]) {
  k.reset();
  k.update((const uint8_t *)text, strlen(text));
  k.final(out);
}

// ABI words: every field of these messages is static, so hashStruct is keccak of 32-byte words.
static void wordU64(Keccak256 &k, uint64_t v) {
  uint8_t w[32];
  memset(w, 0, 24);
  putBe64(w + 24, v);
  k.update(w, 32);
}

static void wordI64(Keccak256 &k, int64_t v) {
  uint8_t w[32];
  memset(w, v < 0 ? 0xFF : 0x00, 24);  // two's complement sign extension to 256 bits
  putBe64(w + 24, (uint64_t)v);
  k.update(w, 32);
}

static void wordAddress(Keccak256 &k, const uint8_t a[20]) {
  uint8_t w[32];
  memset(w, 0, 12);
  memcpy(w + 12, a, 20);
  k.update(w, 32);
}

void eip712SetChainId(Eip712Domain &domain, uint64_t chainId) {
  memset(domain.chainId, 0, 24);
  putBe64(domain.chainId + 24, chainId);
}

void eip712DomainSeparator(const Eip712Domain &domain, uint8_t out[32]) {
  uint8_t typeHash[32], nameHash[32], versionHash[32];
  Keccak256 k;
  hashText(k, DOMAIN_TYPE, typeHash);
  hashText(k, "zkmeter", nameHash);
  hashText(k, "1", versionHash);
  k.update(typeHash, 32);
  k.update(nameHash, 32);
  k.update(versionHash, 32);
  k.update(domain.chainId, 32);
  wordAddress(k, domain.verifyingContract);
  k.final(out);
}

static void typedDigest(const uint8_t domainSeparator[32], const uint8_t structHash[32], uint8_t out[32]) {
  static const uint8_t PREFIX[2] = {0x19, 0x01};
  Keccak256 k;
  k.update(PREFIX, 2);
  k.update(domainSeparator, 32);
  k.update(structHash, 32);
  k.final(out);
}

void meterRecordDigest(const uint8_t domainSeparator[32], const MeterRecord &r, uint8_t out[32]) {
  uint8_t typeHash[32], structHash[32];
  Keccak256 k;
  hashText(k, RECORD_TYPE, typeHash);
  k.update(typeHash, 32);
  wordU64(k, r.seq);
  wordU64(k, r.kind);
  wordU64(k, r.time);
  wordU64(k, r.energyWh);
  wordU64(k, r.intervalWh);
  wordU64(k, r.exportedWh);
  wordU64(k, r.intervalExportedWh);
  wordU64(k, r.powerW);
  wordU64(k, r.voltageMv);
  wordU64(k, r.currentMa);
  wordU64(k, r.powerFactor);
  wordI64(k, r.temperatureCenti);
  wordU64(k, r.light);
  wordU64(k, r.gas);
  wordU64(k, r.water);
  wordU64(k, r.hazards);
  wordU64(k, r.relays);
  wordU64(k, r.fanSpeed);
  k.final(structHash);
  typedDigest(domainSeparator, structHash, out);
}

// BillingPeriod and ExportPeriod share one layout (meter, period, two counters, commitment) under
// their own type strings: one encoder, two halves of a period close.
static void periodLikeDigest(const uint8_t domainSeparator[32], const char *typeText, const uint8_t meter[20],
                             uint64_t periodStart, uint64_t periodEnd, uint64_t startCounter,
                             uint64_t endCounter, const uint8_t commitment[32], uint8_t out[32]) {
  uint8_t typeHash[32], structHash[32];
  Keccak256 k;
  hashText(k, typeText, typeHash);
  k.update(typeHash, 32);
  wordAddress(k, meter);
  wordU64(k, periodStart);
  wordU64(k, periodEnd);
  wordU64(k, startCounter);
  wordU64(k, endCounter);
  k.update(commitment, 32);
  k.final(structHash);
  typedDigest(domainSeparator, structHash, out);
}

void billingPeriodDigest(const uint8_t domainSeparator[32], const BillingPeriod &p, uint8_t out[32]) {
  periodLikeDigest(domainSeparator, PERIOD_TYPE, p.meter, p.periodStart, p.periodEnd, p.startCounter,
                   p.endCounter, p.commitment, out);
}

void exportPeriodDigest(const uint8_t domainSeparator[32], const BillingPeriod &p, uint8_t out[32]) {
  periodLikeDigest(domainSeparator, EXPORT_TYPE, p.meter, p.periodStart, p.periodEnd, p.exportStartCounter,
                   p.exportEndCounter, p.exportCommitment, out);
}

void recordsGoneDigest(const uint8_t domainSeparator[32], const RecordsGone &g, uint8_t out[32]) {
  uint8_t typeHash[32], structHash[32];
  Keccak256 k;
  hashText(k, GONE_TYPE, typeHash);
  k.update(typeHash, 32);
  wordAddress(k, g.meter);
  wordU64(k, g.fromSeq);
  wordU64(k, g.toSeq);
  k.final(structHash);
  typedDigest(domainSeparator, structHash, out);
}

}  // namespace zkm
#endif
