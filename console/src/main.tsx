import { render } from 'preact';
import { App } from './shell/App.js';

const root = document.getElementById('app')!;
// Preact renders next to existing children: drop the static "Loading…" first.
root.replaceChildren();
render(<App />, root);
