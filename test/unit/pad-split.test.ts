/**
 * The PAD dev set's tuning/test split is one rule in two languages: bench/lib/pad-split.mjs (the benchmark chooses
 * its operating point on the tuning side and reports the test side) and train/pad/train.py `bench_side` (training
 * opens only tuning-side photos). If they disagreed, a photo could be trained on and then counted as unseen. Checked
 * here on names of every shape the set builder writes, including a person's group (`name~member`): every photo of
 * one person falls on one side, and python3 (Debian's, as train:pad runs it) computes the same side as the bench.
 */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { groupOf, side, sourceOf } from '../../bench/lib/pad-split.mjs';

const root = new URL('../..', import.meta.url).pathname;

describe('PAD dev-set split', () => {
  test('an image belongs to its photo, a photo to its person', () => {
    expect(sourceOf('attack/print/clm-audrey~1-close-halftone-0.jpg')).toBe('clm-audrey~1');
    expect(sourceOf('attack/replay/barack_obama-2-screen-1.jpg')).toBe('barack_obama-2');
    expect(sourceOf('bona-fide/clm-webcam~c12t6-far.jpg')).toBe('clm-webcam~c12t6');
    expect(sourceOf('attack/replay/clm-franck~v-screen.avi')).toBe('clm-franck~v');
    expect(groupOf('clm-webcam~c12t6')).toBe('clm-webcam');
    expect(groupOf('clm-webcam~c13')).toBe('clm-webcam');
    // Names written before groups existed are their own group: earlier stops' splits are unchanged.
    expect(groupOf('faceapi-sample3')).toBe('faceapi-sample3');
    for (const n of ['clm-audrey~1.jpg', 'attack/print/clm-audrey~2-texture-1.jpg', 'bona-fide/clm-audrey~9-far.jpg']) {
      expect(side(n)).toBe(side('clm-audrey'));
    }
  });

  test('train.py opens the same side as the benchmark for every name', () => {
    const names = [
      'faceapi-sample2', 'faceapi-sample3', 'barack_obama-2', 'joe_biden-1', 'kit_harington-1', 'rose_leslie-2',
      'clm-audrey~1', 'clm-audrey~2', 'clm-connery~2', 'clm-webcam~c12t24', 'clm-webcam~c13t5', 'clm-franck~vt60',
      'clm-queen', 'clm-walter', 'CLM-Mixed~AbC1',
    ];
    const py = [
      'import sys',
      `sys.path.insert(0, ${JSON.stringify(join(root, 'train/pad'))})`,
      // bench_side needs no torch: load train.py's function without running its heavy imports.
      'src = open(sys.argv[1]).read()',
      'start = src.index("def bench_side")',
      'end = src.index("\\ndef ", start + 1)',
      'ns = {}',
      'exec("import hashlib, re\\n" + src[start:end], ns)',
      'for n in sys.argv[2:]: print(ns["bench_side"](n))',
    ].join('\n');
    const r = spawnSync('/usr/bin/python3', ['-c', py, join(root, 'train/pad/train.py'), ...names], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(names.map((n) => side(n)));
    // Both sides occur (a rule that put everything on one side would pass the equality above).
    expect(new Set(names.map((n) => side(n))).size).toBe(2);
  });
});
