# The influence-lens CLI as an image for clusters (docs/CLUSTER.md): Node, the built bundle (dist/) and the
# runtime packages it loads (@tensorflow/*), nothing fetched at run time. Build from the repository root:
#   docker build -t influence-lens:0.1.0 .
# Pods and jobs run `node /app/bin/influence-lens.js …` (the command `cluster plan --engine kubernetes`
# writes). For NVIDIA GPUs build on a CUDA base and add tfjs-node-gpu (docs/GPU.md):
#   docker build --build-arg BASE=nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04 --build-arg GPU=1 -t influence-lens:gpu .
ARG BASE=node:20-bookworm-slim

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build --silent

FROM ${BASE}
ARG GPU=0
# A CUDA base has no Node: take the build stage's.
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN node /usr/local/lib/node_modules/npm/bin/npm-cli.js ci --omit=dev --omit=optional --no-audit --no-fund \
 && if [ "$GPU" = 1 ]; then node /usr/local/lib/node_modules/npm/bin/npm-cli.js install --no-save --no-audit --no-fund @tensorflow/tfjs-node-gpu@4.22.0; fi \
 && rm -rf /root/.npm /usr/local/lib/node_modules/npm
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
ENV NODE_ENV=production
ENTRYPOINT ["node", "/app/bin/influence-lens.js"]
CMD ["--help"]
