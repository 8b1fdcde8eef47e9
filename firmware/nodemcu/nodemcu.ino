// zkmeter NodeMCU (ESP8266): WiFi + MQTT glue. zkm::MeterEngine (the core library) does the meter
// work — signed interval and live records logged before they are published, the period and its
// incremental commitment, Resend, relay reports — and is host-tested (firmware/test/cpp/
// engine_test.cpp). This file binds it to the UNO link, the clock, LittleFS and MQTT.
// Libraries: ESP8266 Arduino core (WiFi, BearSSL, EEPROM, LittleFS, time), 256dpi arduino-mqtt
// (QoS 1 publish, last will), trezor-crypto (secp256k1, USE_RFC6979=1). Provisioning (keys, chain,
// WiFi, broker, the meter's broker login and the node's certificate pin) is written to EEPROM by
// the factory tool: see docs/firmware.md and docs/broker.md.
// The broker connection is MQTT over TLS (the node's 8883 listener) with BearSSL: the node's
// household CA as trust anchor when /node-ca.der is on LittleFS (survives the node re-issuing its
// server certificate), else the server certificate's SHA-1 fingerprint (setFingerprint). The meter
// logs in with its own user name (its topic name) and password: the broker lets it publish only its
// own tele/ and stat/ topics and read only its own cmnd/ and ack.
#include <EEPROM.h>
#include <ESP8266WiFi.h>
#include <WiFiClientSecureBearSSL.h>
#include <LittleFS.h>
#include <MQTT.h>
#include <time.h>
#include <zkmeter.h>

#include "trezor_signer.h"

struct Provisioning {
  uint32_t magic;  // PROVISIONED
  char ssid[33], pass[65], broker[64], ntp[64];
  uint16_t port;  // the node's MQTT-over-TLS port (8883)
  // The broker login from `zkmeter meter add`: user name = the meter's topic name (empty: use it).
  char mqttUser[65], mqttPass[65];
  uint8_t brokerSha1[20];  // SHA-1 of the node's server certificate (DER), when no CA file is present
  uint8_t privateKey[32], pairingKey[32];
  uint64_t chainId;
  uint8_t ledger[20];
  uint64_t firstPeriodStart, firstPeriodCounter;  // the provisioning point registered on-chain
  uint8_t periodDays;
};

// "zkm2": the layout with the broker login and certificate pin. A "zkm1" image has neither, and
// a meter that cannot log in must not be started as if it could: it stays silent until reprovisioned.
static const uint32_t PROVISIONED = 0x7a6b6d32;
static const uint16_t EEPROM_BYTES = 1024;
static_assert(sizeof(Provisioning) <= EEPROM_BYTES, "the provisioning image must fit the EEPROM");
// 4096 records (~11 h of 10 s samples + intervals) of Resend history: 508 KB of LittleFS, which
// spreads the writes (~1 MB/day) so each flash block is erased about once a day.
static const uint32_t RECORD_SLOTS = 4096;
static const uint32_t LIVE_MS = 10000, HEARTBEAT_MS = 2000, STATE_MS = 60000;
static const zkm::PeriodGeometry GEOMETRY = {900, 2976};
// "/period.bin" held the import-only journal (16-byte header, 12-byte entries): never read as this one.
static const char *PERIOD_FILE = "/period2.bin";
static const char *RECORD_FILE = "/records.bin";
static const char *CLOSES_FILE = "/closes.bin";  // the last PERIOD_CLOSES_KEPT signed closes

static Provisioning prov;
static char meterName[zkm::METER_NAME_LEN + 1];
static BearSSL::WiFiClientSecure net;
static BearSSL::X509List *nodeCa;  // the household CA, from LittleFS /node-ca.der
static MQTTClient mqtt(1024);
static char payload[1024];
static char topic[96];
static zkm::LinkDecoder fromUno;
static zkm::Measurement latest;
static bool haveMeasurement;
static uint32_t lastLiveMs, lastHeartbeatMs, lastStateMs;
static uint64_t acked;  // the node's contiguous high-water mark (zkmeter/<meter>/ack)
static uint32_t lastRxMs;
static bool rxPending;  // bytes arrived since the line was last seen quiet

static const char *topicFor(const char *prefix, const char *suffix) {
  snprintf(topic, sizeof(topic), "%s/%s/%s", prefix, meterName, suffix);
  return topic;
}

// A ring as one preallocated LittleFS file: the record log, and the kept period closes.
class FileRecordStore : public zkm::RecordStore {
 public:
  FileRecordStore(const char *path, uint32_t bytes) : path_(path), bytes_(bytes) {}
  bool open() {
    if (!LittleFS.exists(path_)) {
      File f = LittleFS.open(path_, "w");
      uint8_t blank[64];
      memset(blank, 0xFF, sizeof(blank));
      for (uint32_t done = 0; done < bytes_; done += sizeof(blank)) {
        f.write(blank, bytes_ - done < sizeof(blank) ? bytes_ - done : sizeof(blank));
      }
      f.close();
    }
    file_ = LittleFS.open(path_, "r+");
    return (bool)file_;
  }
  bool read(uint32_t offset, uint8_t *out, uint16_t len) override {
    return file_.seek(offset) && file_.read(out, len) == len;
  }
  bool write(uint32_t offset, const uint8_t *data, uint16_t len) override {
    if (!file_.seek(offset) || file_.write(data, len) != len) return false;
    file_.flush();  // on flash before the record (or close) is published
    return true;
  }

 private:
  const char *path_;
  uint32_t bytes_;
  File file_;
};

// The running period's journal: a header (start, import and export start counters) and one entry
// per interval (time, imported Wh, exported Wh).
class FileJournal : public zkm::PeriodJournal {
 public:
  void begin(uint64_t start, uint64_t counter, uint64_t exportCounter) override {
    File f = LittleFS.open(PERIOD_FILE, "w");
    f.write((const uint8_t *)&start, 8);
    f.write((const uint8_t *)&counter, 8);
    f.write((const uint8_t *)&exportCounter, 8);
    f.close();
  }
  void interval(uint64_t time, uint32_t wh, uint32_t xwh) override {
    File f = LittleFS.open(PERIOD_FILE, "a");
    f.write((const uint8_t *)&time, 8);
    f.write((const uint8_t *)&wh, 4);
    f.write((const uint8_t *)&xwh, 4);
    f.close();
  }
  bool readHeader(uint64_t &start, uint64_t &counter, uint64_t &exportCounter) override {
    reader_ = LittleFS.open(PERIOD_FILE, "r");
    return reader_ && reader_.read((uint8_t *)&start, 8) == 8 && reader_.read((uint8_t *)&counter, 8) == 8 &&
           reader_.read((uint8_t *)&exportCounter, 8) == 8;
  }
  bool readInterval(uint64_t &time, uint32_t &wh, uint32_t &xwh) override {
    if (reader_.read((uint8_t *)&time, 8) == 8 && reader_.read((uint8_t *)&wh, 4) == 4 &&
        reader_.read((uint8_t *)&xwh, 4) == 4)
      return true;
    reader_.close();
    return false;
  }

 private:
  File reader_;
};

class MqttSink : public zkm::MeterSink {
 public:
  void record(const zkm::MeterRecord &r, const uint8_t sig[65]) override {
    size_t n = zkm::buildSensorJson(r, sig, payload, sizeof(payload));
    if (n) mqtt.publish(topicFor("tele", "SENSOR"), payload, n, false, 1);
    yield();
  }
  // The latest close is retained; a kept one resent on ResendPeriod is not (the retained message
  // must stay the latest close).
  void period(const zkm::BillingPeriod &p, const uint8_t sig[65], const uint8_t exportSig[65], bool latest) override {
    size_t n = zkm::buildPeriodJson(p, sig, exportSig, payload, sizeof(payload));
    if (n) mqtt.publish(topicFor("tele", "PERIOD"), payload, n, latest, 1);
  }
  void gone(const zkm::RecordsGone &g, const uint8_t sig[65]) override {
    size_t n = zkm::buildGoneJson(g, sig, payload, sizeof(payload));
    if (n) mqtt.publish(topicFor("tele", "GONE"), payload, n, false, 1);
  }
  // RESULT then stat/POWER<n>, as Tasmota does, once the UNO reports the relay really switched.
  void relayChanged(uint8_t n, bool on) override {
    size_t len = zkm::buildPowerResultJson(n, on, payload, sizeof(payload));
    mqtt.publish(topicFor("stat", "RESULT"), payload, len, false, 1);
    char name[8] = "POWER0";
    name[5] = (char)('0' + n);
    mqtt.publish(topicFor("stat", name), on ? "ON" : "OFF");
  }
  void fanChanged(uint8_t speed) override {
    size_t len = zkm::buildFanResultJson(speed, payload, sizeof(payload));
    mqtt.publish(topicFor("stat", "RESULT"), payload, len, false, 1);
  }
};

static FileRecordStore recordStore(RECORD_FILE, RECORD_SLOTS * zkm::RECORD_ENTRY_BYTES);
static zkm::RecordLog records(recordStore, RECORD_SLOTS);
static FileRecordStore closeStore(CLOSES_FILE, (uint32_t)zkm::PERIOD_CLOSES_KEPT * zkm::PERIOD_ENTRY_BYTES);
static zkm::PeriodCloseStore closes(closeStore, zkm::PERIOD_CLOSES_KEPT);
static FileJournal journal;
static MqttSink sink;
static TrezorSigner *signer;
static zkm::MeterEngine *engine;

static void yieldToWifi() { yield(); }

static uint64_t now() {
  time_t t = time(nullptr);
  return t > 1600000000 ? (uint64_t)t : 0;  // 0 until NTP has set the clock
}

static void sendToUno(uint8_t type, const uint8_t *p, uint8_t len) {
  uint8_t frame[zkm::LINK_MAX_FRAME];
  Serial.write(frame, zkm::linkEncode(type, p, len, frame));
}

static void onMqtt(String &t, String &body) {
  if (t.startsWith("zkmeter/")) {  // {"seq":n}: the node stored everything up to n
    int at = body.indexOf(':');
    acked = at > 0 ? strtoull(body.c_str() + at + 1, nullptr, 10) : 0;
    return;
  }
  zkm::Command c = zkm::parseCommand(t.c_str(), meterName, (const uint8_t *)body.c_str(), body.length());
  switch (c.kind) {
    case zkm::CMD_POWER: {
      uint8_t p[2] = {c.relay, c.action};
      sendToUno(zkm::LINK_SET_RELAY, p, 2);
      break;
    }
    case zkm::CMD_FAN_SPEED:
      sendToUno(zkm::LINK_SET_FAN, &c.value, 1);
      break;
    case zkm::CMD_PERIOD_DAYS:
      if (engine->setPeriodDays(c.value, now())) {
        prov.periodDays = c.value;
        EEPROM.put(0, prov);
        EEPROM.commit();
      }
      break;
    case zkm::CMD_RESEND:
      engine->resend(c.from, c.to);
      break;
    case zkm::CMD_RESEND_PERIOD:
      engine->resendPeriod(c.from);
      break;
    default:
      break;
  }
}

// The node's certificate: its household CA if provisioned (chain and validity checked, so the
// clock must be set), else the pinned fingerprint. Never setInsecure(): an unverified broker could
// feed forged acks and make the meter drop records it never delivered.
static void trustNode() {
  File ca = LittleFS.open("/node-ca.der", "r");
  if (ca && ca.size() > 0 && ca.size() <= 2048) {
    static uint8_t der[2048];
    size_t n = ca.read(der, ca.size());
    nodeCa = new BearSSL::X509List(der, n);
    net.setTrustAnchors(nodeCa);
  } else {
    net.setFingerprint(prov.brokerSha1);
  }
  if (ca) ca.close();
  net.setBufferSizes(1024, 1024);  // RAM: MQTT messages here are at most 1 KB
}

static void connectMqtt() {
  if (mqtt.connected() || WiFi.status() != WL_CONNECTED) return;
  time_t t = time(nullptr);
  if (nodeCa) {
    if (t < 1700000000) return;  // no NTP time yet: a CA chain cannot be checked for validity
    net.setX509Time(t);
  }
  mqtt.setWill(topicFor("tele", "LWT"), "Offline", true, 1);
  // Client id and user name are the meter's topic name: the broker binds one to the other.
  const char *user = prov.mqttUser[0] ? prov.mqttUser : meterName;
  if (!mqtt.connect(meterName, user, prov.mqttPass)) return;
  mqtt.publish(topicFor("tele", "LWT"), "Online", true, 1);
  mqtt.subscribe(topicFor("cmnd", "#"), 1);
  mqtt.subscribe(topicFor("zkmeter", "ack"), 1);
}

void setup() {
  Serial.begin(9600);  // the UNO link (9600: see uno.ino)
  EEPROM.begin(EEPROM_BYTES);
  EEPROM.get(0, prov);
  if (prov.magic != PROVISIONED) {
    for (;;) delay(1000);  // nothing to sign with: stay silent rather than publish unsigned data
  }
  LittleFS.begin();
  recordStore.open();
  closeStore.open();
  signer = new TrezorSigner(prov.privateKey);
  zkm::MeterIdentity id;
  signer->address(id.address);
  memcpy(id.pairingKey, prov.pairingKey, 32);
  zkm::Eip712Domain domain;
  zkm::eip712SetChainId(domain, prov.chainId);
  memcpy(domain.verifyingContract, prov.ledger, 20);
  zkm::eip712DomainSeparator(domain, id.domainSeparator);
  zkm::meterName(id.address, meterName);
  zkm::setPoseidonYield(yieldToWifi);
  engine = new zkm::MeterEngine(id, *signer, records, journal, closes, sink, GEOMETRY);
  engine->start(prov.firstPeriodStart, prov.firstPeriodCounter, prov.periodDays);
  WiFi.mode(WIFI_STA);
  WiFi.begin(prov.ssid, prov.pass);
  configTime(0, 0, prov.ntp);
  trustNode();
  mqtt.begin(prov.broker, prov.port, net);
  mqtt.onMessage(onMqtt);
}

void loop() {
  uint32_t ms = millis();
  connectMqtt();
  mqtt.loop();
  bool quiet = !Serial.available() && rxPending && ms - lastRxMs >= zkm::LINK_IDLE_MS;
  while (Serial.available() || quiet) {
    // When the line has gone quiet, idle() releases frames held behind a false start.
    bool frame = quiet ? fromUno.idle() : fromUno.push((uint8_t)Serial.read());
    if (quiet && !frame) break;
    if (!quiet) {
      lastRxMs = ms;
      rxPending = true;
    }
    if (!frame || fromUno.type() != zkm::LINK_MEASUREMENT) continue;
    if (!zkm::measurementDecode(fromUno.payload(), fromUno.length(), latest)) continue;
    haveMeasurement = true;
    engine->onMeasurement(latest, now());
  }
  if (quiet) rxPending = false;
  uint64_t t = now();
  // Live samples pause while the node is more than a ring's worth (minus a margin) behind with
  // its acknowledgements: the ring must never overwrite records it may still ask for.
  bool roomForLive = engine->nextSeq() < acked + RECORD_SLOTS - 256;
  if (roomForLive && ms - lastLiveMs >= LIVE_MS) {
    lastLiveMs = ms;
    engine->liveSample(t);
  }
  if (t && haveMeasurement && ms - lastStateMs >= STATE_MS) {
    lastStateMs = ms;
    size_t n = zkm::buildStateJson(t, ms / 1000, latest.relays, latest.fanSpeed, engine->period().periodStart(),
                                   engine->periodDays(), payload, sizeof(payload));
    if (n) mqtt.publish(topicFor("tele", "STATE"), payload, n);
  }
  if (ms - lastHeartbeatMs >= HEARTBEAT_MS) {
    lastHeartbeatMs = ms;
    uint8_t online = mqtt.connected() ? 1 : 0;  // the UNO runs its fallbacks while this is 0
    sendToUno(zkm::LINK_HEARTBEAT, &online, 1);
  }
}
