// The relation model as the configuration file's XML (VVM Table D-1): tags and
// attribute names as the seed's table spells them. The schema of the result
// is schemas/relation.xsd; test/vvol/relation-files.test.ts validates every
// file the writer makes against it.
import type { RelVvol, RelationModel } from './model.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

const attrs = (a: Record<string, string>): string =>
  Object.entries(a)
    .map(([k, v]) => ` ${k}="${esc(v)}"`)
    .join('');

function vvol(tag: string, v: RelVvol, ind: string, withNamespace: boolean, withSnapshots: boolean): string[] {
  const a: Record<string, string> = { id: v.id, name: v.name };
  if (withNamespace) a['namespace'] = v.namespace;
  const inner = [...(withSnapshots ? v.snapshots.map((s) => `${ind}  <snapshot id="${s}"/>`) : []), ...v.rvs.map((r) => `${ind}  <rv id="${r}"/>`)];
  if (inner.length === 0) return [`${ind}<${tag}${attrs(a)}/>`];
  return [`${ind}<${tag}${attrs(a)}>`, ...inner, `${ind}</${tag}>`];
}

export function relationXml(m: RelationModel): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<Information${attrs(m.info)}>`);
  out.push(
    `  <diskArray${attrs({ Ip: m.diskArray.ip, serialNumber: m.diskArray.serialNumber, name: m.diskArray.name, WWN: m.diskArray.wwn, model: m.diskArray.model })}>`,
  );
  out.push('    <datacenterList>');
  for (const dc of m.datacenters) {
    out.push(`      <datacenter name="${esc(dc.name)}">`);
    out.push('        <validVVOLList>');
    for (const vm of dc.vms) {
      const i = '            ';
      out.push(`          <VM name="${esc(vm.name)}" id="${esc(vm.id)}">`);
      if (vm.config) out.push(...vvol('configVVOL', vm.config, i, false, false));
      out.push(`${i}<dataList>`);
      for (const d of vm.data) out.push(...vvol('dataVVOL', d, i + '  ', true, true));
      out.push(`${i}</dataList>`);
      if (vm.swap) out.push(...vvol('swapVVOL', { ...vm.swap, rvs: [] }, i, true, false));
      out.push(`${i}<memoryList>`);
      for (const d of vm.memory) out.push(...vvol('memoryVVOL', { ...d, rvs: [] }, i + '  ', true, false));
      out.push(`${i}</memoryList>`);
      if (vm.fastcloneSource !== null) out.push(`${i}<fastcloneSourceVM name="${esc(vm.fastcloneSource)}"/>`);
      out.push(`${i}<fastcloneTargetList>`);
      for (const t of vm.fastcloneTargets) out.push(`${i}  <fastcloneTargetVM name="${esc(t)}"/>`);
      out.push(`${i}</fastcloneTargetList>`);
      out.push('          </VM>');
    }
    out.push('        </validVVOLList>');
    out.push('      </datacenter>');
  }
  out.push('    </datacenterList>');
  out.push('    <unManageVVOLList>');
  out.push('      <invalidVVOLList>');
  for (const id of m.unManage.invalid) out.push(`        <invalidVVOL id="${id}"/>`);
  out.push('      </invalidVVOLList>');
  out.push('      <actionVVOLList>');
  for (const d of m.unManage.deleting) out.push(`        <deletingVVOL${attrs({ id: d.id, deletingTime: d.deletingTime })}/>`);
  for (const c of m.unManage.cloning) out.push(`        <cloningVVOL${attrs({ id: c.id, cloningTime: c.cloningTime })}/>`);
  out.push('      </actionVVOLList>');
  out.push('      <rvVVOLList>');
  for (const r of m.unManage.rvs) out.push(`        <rvVVOL${attrs({ id: r.id, type: r.type, mvVMid: r.mvVMid })}/>`);
  out.push('      </rvVVOLList>');
  out.push('    </unManageVVOLList>');
  out.push('  </diskArray>');
  out.push('</Information>');
  return out.join('\n') + '\n';
}
