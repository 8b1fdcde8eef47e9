import { html, LitElement } from 'lit'
import { shared } from '../components/styles.ts'
import { notificationsSupported } from './notifications.ts'

type Permission = NotificationPermission | 'unsupported'

function current(): Permission {
  return notificationsSupported() ? Notification.permission : 'unsupported'
}

/**
 * "Enable alarm notifications": the one place the app asks for the permission, from the
 * resident's click (browsers ignore or penalise a request made on load). Says plainly what each
 * state means, and how to get notifications on an iPhone (only from the Home Screen app).
 */
export class NotificationToggle extends LitElement {
  static override properties = { permission: { state: true } }
  static override styles = [shared]
  declare permission: Permission
  #status: PermissionStatus | undefined

  constructor() {
    super()
    this.permission = current()
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.permission = current()
    // The permission can change in the browser's settings while the view is open.
    navigator.permissions
      ?.query({ name: 'notifications' })
      .then((status) => {
        this.#status = status
        status.onchange = () => {
          this.permission = current()
        }
      })
      .catch(() => undefined)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    if (this.#status) this.#status.onchange = null
  }

  async #enable(): Promise<void> {
    this.permission = await Notification.requestPermission()
  }

  override render() {
    switch (this.permission) {
      case 'granted':
        return html`<p class="ok">Alarm notifications are on: a new alarm shows on this device's screen while zkmeter is open on it.</p>`
      case 'denied':
        return html`<p class="muted">Notifications are blocked for zkmeter. Allow them in the browser's site settings to get alarms on this device.</p>`
      case 'unsupported':
        return html`<p class="muted">This browser cannot show notifications here. On an iPhone or iPad, add zkmeter to the Home Screen (Share → Add to Home Screen) and open it from there.</p>`
      default:
        return html`<p>Get a system notification on this device when an alarm is raised.</p>
          <button @click=${this.#enable}>Enable alarm notifications</button>`
    }
  }
}
customElements.define('zkm-notification-toggle', NotificationToggle)
