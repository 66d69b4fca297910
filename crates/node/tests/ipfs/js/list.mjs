// Lists a CAR file with @ipld/car (an independent CARv1 reader): prints JSON
// {roots: [cid strings], cids: [cid strings in file order], bytes: [content length]}.
import fs from 'node:fs';
import { CarReader } from '@ipld/car';

const bytes = fs.readFileSync(process.argv[2]);
const reader = await CarReader.fromBytes(bytes);
const roots = (await reader.getRoots()).map((c) => c.toString());
const cids = [];
const sizes = [];
for await (const block of reader.blocks()) {
  cids.push(block.cid.toString());
  sizes.push(block.bytes.length);
}
console.log(JSON.stringify({ roots, cids, sizes }));
