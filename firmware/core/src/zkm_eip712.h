// EIP-712 digests of the four messages a meter signs (docs/protocol.md §6), mirroring
// protocol/eip712.ts byte for byte.
#ifndef ZKM_EIP712_H
#define ZKM_EIP712_H
#include <stdint.h>
#include <string.h>

namespace zkm {

struct Eip712Domain {
  uint8_t chainId[32];  // uint256, big-endian
  uint8_t verifyingContract[20];
};

struct MeterRecord {
  uint64_t seq;
  uint8_t kind;  // 0 live sample, 1 interval close
  uint64_t time;
  uint64_t energyWh;    // import counter (OBIS 1-0:1.8.0)
  uint32_t intervalWh;
  uint64_t exportedWh;  // export counter (OBIS 1-0:2.8.0)
  uint32_t intervalExportedWh;
  uint32_t powerW;
  uint32_t voltageMv;
  uint32_t currentMa;
  uint16_t powerFactor;
  int32_t temperatureCenti;
  uint16_t light;
  uint16_t gas;
  uint16_t water;
  uint8_t hazards;
  uint8_t relays;
  uint8_t fanSpeed;
};

struct BillingPeriod {
  uint8_t meter[20];
  uint64_t periodStart;
  uint64_t periodEnd;
  uint64_t startCounter;
  uint64_t endCounter;
  uint8_t commitment[32];  // uint256, big-endian
  // The export half of the close, signed as its own ExportPeriod message (same meter and bounds).
  uint64_t exportStartCounter;
  uint64_t exportEndCounter;
  uint8_t exportCommitment[32];
};

// The meter's signed word that records fromSeq..toSeq are gone: no longer held, never resendable.
struct RecordsGone {
  uint8_t meter[20];
  uint64_t fromSeq;
  uint64_t toSeq;
};

void eip712DomainSeparator(const Eip712Domain &domain, uint8_t out[32]);
void meterRecordDigest(const uint8_t domainSeparator[32], const MeterRecord &rec, uint8_t out[32]);
void billingPeriodDigest(const uint8_t domainSeparator[32], const BillingPeriod &p, uint8_t out[32]);
// ExportPeriod(meter, periodStart, periodEnd, exportStartCounter, exportEndCounter, exportCommitment).
void exportPeriodDigest(const uint8_t domainSeparator[32], const BillingPeriod &p, uint8_t out[32]);
void recordsGoneDigest(const uint8_t domainSeparator[32], const RecordsGone &g, uint8_t out[32]);

// Sets chainId from a 64-bit value (every real chain id fits).
void eip712SetChainId(Eip712Domain &domain, uint64_t chainId);

}  // namespace zkm
#endif
