// The backup, relation and settings messages are the seed's words (VVM App.
// E.2, F.3, 2.3.1): each message made with the seed's placeholders must be
// found in the seed's lines (joined with one space; a message of two lines,
// each in its own). The table holds the seed's text, so the test runs without
// the seed; where the seed file is at hand it is compared too. The other
// backup tests provoke each message through the engine or `kura serve`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as C from '../../src/catalogue/backup.js';
import * as I from '../../src/vvol/backup/messages.js';
import { ADD_OK, DELETE_OK, SET_OK } from '../../src/vvol/backup/settings.js';

const a = '<aaa...a>';
const b = '<bbb...b>';
// E.2 writes some placeholders with an ellipsis character.
const a1 = '<aaa…a>';
const b1 = '<bbb…b>';

const TABLE: Array<[lines: [number, number], produced: string, seed: string]> = [
  [[521, 521], C.SETTINGS_INTERVAL_INVALID().message, 'ERROR:Invalid time value. Please set up an integer between 5 and 1440.'],
  [[465, 465], SET_OK, 'Set successfully!'],
  [[488, 488], ADD_OK, 'ADD successfully!'],
  [[501, 501], DELETE_OK, 'Delete successfully!'],
  [[2623, 2623], C.BACKUP_VM_NOT_FOUND({ dc: a, vm: b }).message, 'Specified VM(<aaa...a>/<bbb...b>) does not exist.'],
  [[2630, 2630], C.BACKUP_POLICY_NOT_SET({ dc: a1, vm: b1 }).message, 'The backup policy of VM(<aaa…a>/<bbb…b>) is not set.'],
  [[2641, 2641], C.BACKUP_UNEXPECTED({ why: 'x' }).message, 'Unexpected error occurred.'],
  [[2645, 2646], C.BACKUP_COMMAND_FAILED({ command: a, message: b }).message, 'Failed to execute command(<aaa...a>).\n<bbb...b>'],
  [[2653, 2653], C.BACKUP_VM_INFO_FAILED({ dc: a, vm: b }).message, 'Failed to get information of specified VM(<aaa...a>/<bbb...b>).'],
  [
    [2660, 2661],
    C.RELATION_VM_NOT_FOUND({ dc: a, vm: b }).message,
    'Failed to get information of specified VM(<aaa...a>/<bbb...b>) from VM-VVOL relation file.',
  ],
  [[2700, 2700], I.START_CHECK, 'Start to check information of specified VM.'],
  [[2705, 2705], I.START_BACKUP, 'Start to back up the specified VM.'],
  [[2710, 2710], I.successLines(a, b, true, [])[0]!, 'Success to online backup VM(<aaa...a>/<bbb...b>).'],
  [[2742, 2742], I.successLines(a, b, false, [])[0]!, 'Success to online backup VM(<aaa...a>/<bbb...b>) without keeping consistency.'],
  [[2777, 2777], C.BACKUP_ALREADY_RUNNING({ dc: a1, vm: b1 }).message, 'Failed to back up for VM(<aaa…a>/<bbb…b>). Backup is already running.'],
  [[2784, 2784], C.BACKUP_WHILE_RESTORING({ dc: a1, vm: b1 }).message, 'Failed to back up for VM(<aaa…a>/<bbb…b>).Restoring is still running.'],
  [[2791, 2791], C.BACKUP_INTERRUPTED({ dc: a1, vm: b1 }).message, 'Failed to back up VM(<aaa…a>/<bbb…b>).Backup is interrupted.'],
  [[3061, 3061], C.RESTORE_VM_HAS_SNAPSHOTS().message, 'If the target VM has a snapshot, the virtual device cannot be restored.'],
];

function seedLines(): string[] | undefined {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const file = path.resolve(root, '../shared/seeds/virtual-volume-manual.txt');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : undefined;
}

test('the backup, relation and settings messages are the seed words', () => {
  for (const [[from], produced, seed] of TABLE) assert.equal(produced, seed, `VVM L${from}`);
  const lines = seedLines();
  if (!lines) return;
  for (const [[from, to], , seed] of TABLE) {
    const text = lines
      .slice(from - 1, to)
      .map((l) => l.trim())
      .join(' ');
    for (const part of seed.split('\n')) assert.ok(text.includes(part), `VVM L${from}-L${to}: ${JSON.stringify(text)} lacks ${JSON.stringify(part)}`);
  }
});

test('the success display is the seed block, disk by disk (VVM L2710-L2721)', () => {
  const c = (x: string) => `<${x}${x}${x}…${x}>`;
  const out = I.successLines(a, b, true, [
    { type: 'config', ldName: c('c'), disk: '', backupState: c('d') as 'backuped', backupLdName: c('e'), arrayName: c('f') },
    { type: 'data', ldName: c('g'), disk: c('h'), backupState: c('d') as 'backuped', backupLdName: c('i'), arrayName: c('f') },
  ]);
  const lines = seedLines();
  const seed = lines
    ? lines.slice(2709, 2721).map((l) => l.replace(/ $/, '').replace(/^ (?=Success)/, ''))
    : [
        'Success to online backup VM(<aaa...a>/<bbb...b>).',
        'config-vvol:',
        '  LD Name: <ccc…c>',
        '  Backup State: <ddd…d>',
        '  Backup LD Name: <eee…e>',
        '  Diskarray Name: <fff…f>',
        'data-vvol:',
        '  LD Name: <ggg…g>',
        '  Disk File: <hhh…h>',
        '  Backup State: <ddd…d>',
        '  Backup LD Name: <iii…i>',
        '  Diskarray Name: <fff…f>',
      ];
  assert.deepEqual(out, seed);
});
