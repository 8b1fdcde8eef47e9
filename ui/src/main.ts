import './components/app.ts'
import { startInstalledApp } from './pwa/register.ts'

startInstalledApp()
