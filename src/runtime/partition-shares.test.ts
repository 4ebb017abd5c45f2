import { describe, expect, it } from 'vitest';
import { planShare, shareOf } from './partition-shares.js';

describe('shareOf', () => {
  it.each([
    ['a', ['a'], 16, 16],
    ['a', ['a', 'b'], 16, 8],
    ['a', ['b', 'c', 'a'], 16, 6],
    ['c', ['b', 'c', 'a'], 16, 5],
    ['b', ['a'], 16, 8], // counted before its own membership shows
    ['d', ['a', 'b', 'c', 'd', 'e'], 3, 0],
  ])('%s of %j over %i partitions gets %i', (node, members, partitions, share) => {
    expect(shareOf(node, members, partitions)).toBe(share);
  });

  it('adds up to the partition count', () => {
    const members = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7'];
    expect(members.reduce((sum, node) => sum + shareOf(node, members, 64), 0)).toBe(64);
  });
});

describe('planShare', () => {
  it.each([
    {
      name: 'takes the lowest free up to its share',
      owned: [],
      taken: [0, 2],
      members: ['a', 'b'],
      acquire: [1, 3],
      release: [],
    },
    {
      name: 'hands off its highest above its share',
      owned: [0, 1, 2, 3],
      taken: [0, 1, 2, 3],
      members: ['a', 'b'],
      acquire: [],
      release: [3, 2],
    },
    {
      name: 'does nothing at its share',
      owned: [0, 1],
      taken: [0, 1, 2],
      members: ['a', 'b'],
      acquire: [],
      release: [],
    },
    {
      name: 'takes nothing when all are taken',
      owned: [0],
      taken: [0, 1, 2, 3],
      members: ['a', 'b'],
      acquire: [],
      release: [],
    },
  ])('$name', ({ owned, taken, members, acquire, release }) => {
    const plan = planShare({
      node: 'a',
      members,
      partitions: 4,
      owned: new Set(owned),
      taken: new Set(taken),
    });
    expect(plan).toEqual({ acquire, release });
  });
});
