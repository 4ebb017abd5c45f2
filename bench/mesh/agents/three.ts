import { defineAgent } from 'meshwarden';

export default defineAgent({
  handle() {},
});
