/**
 * Deploys the verifier of a circuit profile and a ledger bound to it to any EVM chain:
 *
 *   RPC_URL=<json-rpc url> DEPLOYER_KEY=<0x private key> npm run deploy:contracts -- --profile production
 *
 * The deployer becomes the utility (owner; hand over with transferOwnership/acceptOwnership).
 * The ledger's policy (deploy-policy.ts): production bills last 28 days or more and tariffs are
 * published 7 days ahead, unless --min-billing-days / --tariff-notice-days say otherwise.
 * Prints one JSON line: chain id, ledger and verifier addresses, deployment block, limits, policy.
 */
import { parseArgs } from 'node:util'
import { Wallet } from 'ethers'
import { InvalidInputError } from '#protocol/errors.ts'
import { isProfileName, PROFILES } from '../../circuits/src/profiles.ts'
import { jsonRpcProvider } from './chain.ts'
import { compileLedger } from './compile.ts'
import { deploymentPolicy } from './deploy-policy.ts'
import { deployLedger } from './ledger.ts'

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'production' },
    'min-billing-days': { type: 'string' },
    'tariff-notice-days': { type: 'string' },
  },
})
const profile = values.profile
if (!isProfileName(profile))
  throw new InvalidInputError(`--profile must be test or production, got ${profile}`)
const url = process.env.RPC_URL
const key = process.env.DEPLOYER_KEY
const policy = deploymentPolicy(profile, {
  minBillingDays: values['min-billing-days'],
  tariffNoticeDays: values['tariff-notice-days'],
})
if (url === undefined)
  throw new InvalidInputError('set RPC_URL to the JSON-RPC URL of the chain to deploy to')
if (key === undefined || !/^0x[0-9a-fA-F]{64}$/.test(key)) {
  throw new InvalidInputError('set DEPLOYER_KEY to the 32-byte 0x private key of the funded utility account')
}
const provider = await jsonRpcProvider(url)
try {
  const { n, slots } = PROFILES[profile]
  const artifacts = await compileLedger(profile)
  const ledger = await deployLedger(new Wallet(key, provider), artifacts, {
    slots,
    maxIntervals: n,
    ...policy,
  })
  const network = await provider.getNetwork()
  console.log(
    JSON.stringify({
      chainId: network.chainId.toString(),
      profile,
      ledger: ledger.address,
      verifier: await ledger.contract.getFunction('verifier')(),
      batchVerifier: await ledger.contract.getFunction('batchVerifier')(),
      fromBlock: ledger.fromBlock,
      slots,
      maxIntervals: n,
      ...policy,
    }),
  )
} finally {
  provider.destroy()
}
