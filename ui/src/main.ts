import './components/app.ts'
