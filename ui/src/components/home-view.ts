import { html, LitElement } from 'lit'
import { shared } from './styles.ts'
import './relay-panel.ts'
import './rules-editor.ts'
import './command-box.ts'
import './output-origins.ts'

/** Home control: relays and fan, voice/text commands, automation settings. */
export class HomeView extends LitElement {
  static override styles = [shared]
  override render() {
    return html`<h1>Home</h1>
      <section class="card" aria-labelledby="cmd-h"><h3 id="cmd-h">Say or type a command</h3><zkm-command-box></zkm-command-box></section>
      <section class="card" aria-labelledby="relays-h"><h3 id="relays-h">Switches</h3><zkm-relay-panel></zkm-relay-panel><zkm-output-origins></zkm-output-origins></section>
      <section aria-labelledby="rules-h"><h3 id="rules-h">Automation</h3><zkm-rules-editor></zkm-rules-editor></section>`
  }
}
customElements.define('zkm-home-view', HomeView)
