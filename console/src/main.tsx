import { render } from 'preact';
import { App } from './shell/App.js';

render(<App />, document.getElementById('app')!);
