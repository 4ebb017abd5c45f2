import { render } from 'preact';
import { App } from './shell/App.js';
// esbuild bundles these into app.css, beside app.js.
import './styles/base.css';
import './styles/views.css';

const root = document.getElementById('app')!;
// Preact renders next to existing children: drop the static "Loading…" first.
root.replaceChildren();
render(<App />, root);
