import { html, LitElement } from 'lit'
import { api, errorText } from '../lib/api.ts'
import { formatPeriod, shorten } from '../lib/format.ts'
import { SessionController } from '../lib/session.ts'
import { StreamResource } from '../lib/stream-resource.ts'
import type { MeshBackup, MeshReport, MeshRestoredPeriod, MeshRestoreReport } from '../lib/types.ts'
import { type Load, renderLoad } from './load-state.ts'
import { shared } from './styles.ts'

/** The mesh has no stream event for backups: re-read it this often while the view is open. */
const POLL_MS = 10_000

type MeshOn = Extract<MeshReport, { enabled: true }>

const BACKUP_BADGE: Record<MeshBackup['status'], string> = { done: 'paid', partial: 'verified', pending: '' }
const BACKUP_TEXT: Record<MeshBackup['status'], string> = {
  done: 'done',
  partial: 'partial (1 of 2)',
  pending: 'pending',
}

function neighbour(n: { peerId: string; meter: string | null }) {
  return n.meter
    ? html`<span class="mono" title=${`meter ${n.meter}, peer ${n.peerId}`}>${shorten(n.meter, 6, 4)}</span>`
    : html`<span class="mono" title=${`peer ${n.peerId}`}>${shorten(n.peerId, 8, 4)}</span>`
}

function outcomeText(p: MeshRestoredPeriod): string {
  if (p.outcome === 'adopted') return `restored (${p.records ?? 0} readings)`
  if (p.outcome === 'present') return 'already here'
  return `refused: ${p.reason ?? 'no reason given'}`
}

/** The neighbourhood mesh: membership, what this home contributes, backups and restoring them. */
export class MeshView extends LitElement {
  static override properties = {
    confirming: { state: true },
    busy: { state: true },
    report: { state: true },
    error: { state: true },
  }
  static override styles = [shared]
  /** A read-only device sees the controls disabled (the node refuses them too: 403). */
  #session = new SessionController(this)
  /**
   * A sealed period (its bill) joins the backup list; the poll catches the neighbours'
   * confirmations. A failed background refresh keeps what is shown rather than an error.
   */
  #mesh = new StreamResource<MeshReport>(this, {
    fetch: () => api.mesh(),
    reloadOn: { bill: true },
    pollMs: POLL_MS,
    keepOnError: true,
  })
  declare confirming: boolean
  declare busy: boolean
  declare report: MeshRestoreReport | undefined
  declare error: string

  constructor() {
    super()
    this.confirming = false
    this.busy = false
    this.report = undefined
    this.error = ''
  }

  get data(): Load<MeshReport> {
    return this.#mesh.state
  }

  async reload(): Promise<void> {
    await this.#mesh.reload()
  }

  async #restore(): Promise<void> {
    this.confirming = false
    this.busy = true
    this.error = ''
    this.report = undefined
    try {
      this.report = await api.restoreFromMesh()
      await this.reload()
    } catch (error) {
      this.error = `Nothing was restored: ${errorText(error)}`
    } finally {
      this.busy = false
    }
  }

  #status(m: MeshOn) {
    const neighbours = Math.max(0, m.members - (m.signing ? 1 : 0))
    return html`<section class="card" aria-labelledby="mesh-h">
      <h3 id="mesh-h">Your neighbourhood</h3>
      <p>
        <span class="badge ${m.running ? 'paid' : 'failed'}">${m.running ? 'on' : 'stopped'}</span>
        Area <strong>${m.area}</strong> · connected to <strong>${m.connectedAreaPeers}</strong>
        neighbour${m.connectedAreaPeers === 1 ? '' : 's'} · <strong>${neighbours}</strong> other home${neighbours === 1 ? '' : 's'} known
      </p>
      <p class="small">${
        !m.signing
          ? 'This home only listens: its meter does not sign on the mesh, so it receives alerts and notices but contributes nothing.'
          : m.connectedAreaPeers === 0
            ? 'This home is a full member: it signs its announcements, alerts and shares. No neighbour is connected yet, so none keeps its backups.'
            : 'This home is a full member: it signs its announcements, alerts and shares, and neighbours keep its backups.'
      }</p>
      <ul class="small">
        <li>Safety alerts: ${m.alertsSent} sent, ${m.alertsReceived} received from neighbours.</li>
        <li>Utility notices: ${m.noticesReceived} received${m.noticesRejected ? `, ${m.noticesRejected} refused (not signed by the utility)` : ''}.</li>
        <li>Area totals: this home added ${m.sharesContributed} masked share${m.sharesContributed === 1 ? '' : 's'}${
          m.sharesSkipped ? `; ${m.sharesSkipped} held back while fewer than 3 homes were on the mesh` : ''
        }. A share reveals nothing on its own, and this node never sees a neighbour's use.</li>
        ${m.observer ? html`<li>As the area's observer it summed ${m.roundsCollected} round${m.roundsCollected === 1 ? '' : 's'}${m.roundsFailed ? ` (${m.roundsFailed} failed)` : ''}.</li>` : ''}
      </ul>
      ${m.lastAggregationError ? html`<p class="small muted">Last area-total problem: ${m.lastAggregationError}</p>` : ''}
      <p class="small muted">Peer id <span class="mono" title=${m.peerId}>${shorten(m.peerId, 12, 6)}</span></p>
    </section>`
  }

  #backups(m: MeshOn) {
    return html`<section class="card" aria-labelledby="backups-h">
      <h3 id="backups-h">Backups with neighbours</h3>
      <p class="small muted">Each sealed period is kept, encrypted, by 2 neighbours. They cannot read it; only your root key opens it.</p>
      ${this.#backupSummary(m)}
      ${
        m.backups.length === 0
          ? html`<p class="muted">No sealed period yet: the first one is backed up when it closes.</p>`
          : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Backups, table"><table>
              <thead><tr><th scope="col">Period</th><th scope="col">Status</th><th scope="col">Kept by</th><th scope="col">Attempts</th><th scope="col">Last error</th></tr></thead>
              <tbody>${[...m.backups].reverse().map(
                (b) => html`<tr><td>${formatPeriod(b.periodStart, b.periodEnd)}</td>
                  <td><span class="badge ${BACKUP_BADGE[b.status]}">${BACKUP_TEXT[b.status]}</span></td>
                  <td>${b.pinnedBy.length === 0 ? '—' : b.pinnedBy.map((n, i) => html`${i ? ', ' : ''}${neighbour(n)}`)}</td>
                  <td>${b.attempts}</td><td class="small wrap">${b.lastError ?? '—'}</td></tr>`,
              )}</tbody></table></div>`
      }
    </section>`
  }

  /**
   * One sentence on how safe the periods are, never green while nothing is kept: a lone node once
   * showed "pending" backups beside a green "No neighbour keeps any period".
   */
  #backupSummary(m: MeshOn) {
    if (m.backups.length === 0) return ''
    const done = m.backups.filter((b) => b.status === 'done').length
    const kept = m.backups.filter((b) => b.pinnedBy.length > 0).length
    const total = m.backups.length
    const periods = `${total} sealed period${total === 1 ? '' : 's'}`
    if (kept === 0) {
      const why =
        m.connectedAreaPeers === 0
          ? 'no neighbour is connected, so no neighbour keeps a copy yet'
          : 'no neighbour has taken a copy yet'
      return html`<p class="error" data-backup-summary="none">Not backed up: none of your ${periods} is kept by a neighbour (${why}). A disk loss now would lose them.</p>`
    }
    if (done < total) {
      return html`<p data-backup-summary="partial"><span class="badge verified">partly</span> ${done} of ${periods} kept by 2 neighbours; the others are still pending.</p>`
    }
    return html`<p class="ok" data-backup-summary="done">All ${periods} are kept by 2 neighbours.</p>`
  }

  #restoreCard(m: MeshReport) {
    const off = !m.enabled
    return html`<section class="card" aria-labelledby="restore-h">
      <h3 id="restore-h">Restore from neighbours</h3>
      <p class="small">After a disk loss: put back the key files, restart the node, then fetch the sealed periods your neighbours keep. Periods already here are left as they are; the period that was open at the loss cannot come back.</p>
      ${
        off
          ? html`<p class="muted" id="restore-off">The mesh is off on this node (started with --mesh false), so no neighbour holds its backups.</p>`
          : ''
      }
      ${
        this.confirming
          ? html`<div class="row" role="group" aria-label="Confirm restore">
              <span>Ask every neighbour for this home's backups and add them to the vault?</span>
              <button @click=${() => void this.#restore()}>Yes, restore</button>
              <button class="secondary" @click=${() => {
                this.confirming = false
              }}>Cancel</button>
            </div>`
          : html`<button ?disabled=${off || this.busy || this.#session.readOnly} aria-describedby=${off ? 'restore-off' : ''} @click=${() => {
              this.confirming = true
              this.report = undefined
              this.error = ''
            }}>${this.busy ? 'Restoring…' : 'Restore from neighbours…'}</button>`
      }
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      ${this.report ? this.#outcome(this.report) : ''}
    </section>`
  }

  #outcome(r: MeshRestoreReport) {
    const adopted = r.periods.filter((p) => p.outcome === 'adopted').length
    const refused = r.periods.filter((p) => p.outcome === 'refused').length
    const failed = r.neighbours.filter((n) => n.error)
    // Nothing found is not good news: green only when periods came back and none was refused.
    return html`<div role="status">
      <p class=${refused || r.periods.length === 0 ? 'error' : 'ok'} data-restore-outcome>${
        r.periods.length === 0
          ? 'Nothing restored: no neighbour keeps any period of this home.'
          : `${adopted} period${adopted === 1 ? '' : 's'} restored, ${r.periods.length - adopted - refused} already here, ${refused} refused.`
      }</p>
      ${
        r.periods.length
          ? html`<div class="table-wrap" tabindex="0" role="region" aria-label="Restored periods, table"><table>
              <thead><tr><th scope="col">Period</th><th scope="col">Outcome</th><th scope="col">Kept by</th></tr></thead>
              <tbody>${r.periods.map(
                (p) =>
                  html`<tr><td>${
                    p.periodStart !== null && p.periodEnd !== null
                      ? formatPeriod(p.periodStart, p.periodEnd)
                      : html`<span class="mono" title=${p.manifestCid}>${shorten(p.manifestCid)}</span>`
                  }</td><td>${outcomeText(p)}</td><td>${p.heldBy.length} neighbour${p.heldBy.length === 1 ? '' : 's'}</td></tr>`,
              )}</tbody></table></div>`
          : ''
      }
      ${
        failed.length
          ? html`<ul class="small">${failed.map((n) => html`<li>${neighbour(n)} could not answer: ${n.error}</li>`)}</ul>`
          : ''
      }
    </div>`
  }

  override render() {
    return html`<h1>Neighbourhood</h1>${renderLoad(
      this.data,
      (m) =>
        m.enabled
          ? html`${this.#status(m)}${this.#backups(m)}${this.#restoreCard(m)}`
          : html`<section class="card" aria-labelledby="mesh-h">
                <h3 id="mesh-h">Your neighbourhood</h3>
                <p><span class="badge">off</span> This node is not on the neighbourhood mesh: it gets no neighbours' alerts, adds nothing to area totals, and no neighbour keeps its backups.</p>
              </section>${this.#restoreCard(m)}`,
      () => void this.reload(),
      'neighbourhood mesh',
    )}`
  }
}
customElements.define('zkm-mesh-view', MeshView)
