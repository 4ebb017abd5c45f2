import { describe, expect, it } from 'vitest';
import {
  consumerNameOf,
  meshSubjects,
  meshToken,
  partitionSubject,
  streamNameOf,
} from './jetstream-names.js';

describe('JetStream names', () => {
  it.each([
    ['retention', 'retention'],
    ['a.b', 'a_2e_b'],
    ['a_2e_b', 'a_5f_2e_5f_b'],
    ['x y*>', 'x_20_y_2a__3e_'],
    ['é', '_e9_'],
  ])('writes mesh %j as the token %j', (mesh, token) => {
    expect(meshToken(mesh)).toBe(token);
  });

  it('gives two mesh names two streams, even when one looks like the other escaped', () => {
    expect(streamNameOf('a.b')).not.toBe(streamNameOf('a_2e_b'));
    expect(streamNameOf('a\u02eb')).not.toBe(streamNameOf('a.b'));
  });

  it('names the stream, subjects and consumers of a mesh', () => {
    expect(streamNameOf('retention')).toBe('MW_retention');
    expect(partitionSubject('retention', 3)).toBe('mw.retention.p.3');
    expect(meshSubjects('retention')).toBe('mw.retention.p.*');
    expect(consumerNameOf(3)).toBe('p3');
  });
});
