// AHC058 baseline (tttd example): a greedy planner.
// Each turn it simulates, for every affordable strengthening, the apples it would have at the end
// of the game if it then did nothing more, and takes the best one (or waits). Exact 128-bit
// arithmetic for the plan; deterministic.
#include <bits/stdc++.h>
using namespace std;
typedef __int128 i128;

int N, L, T;
long long K;
vector<long long> A;
vector<vector<long long>> C;

// Apples at the end if the state evolves with no further actions for `turns` turns.
static i128 project(i128 apples, vector<vector<i128>> B, const vector<vector<long long>>& P, int turns) {
    for (int t = 0; t < turns; t++) {
        for (int j = 0; j < N; j++) apples += (i128)A[j] * B[0][j] * P[0][j];
        for (int i = 1; i < L; i++)
            for (int j = 0; j < N; j++) B[i - 1][j] += B[i][j] * P[i][j];
        if (apples > ((i128)1 << 100)) break;   // far beyond any reachable score: stop growing
    }
    return apples;
}

int main() {
    cin >> N >> L >> T >> K;
    A.assign(N, 0);
    for (auto& a : A) cin >> a;
    C.assign(L, vector<long long>(N));
    for (auto& row : C) for (auto& c : row) cin >> c;
    vector<vector<i128>> B(L, vector<i128>(N, 1));
    vector<vector<long long>> P(L, vector<long long>(N, 0));
    i128 apples = K;
    for (int t = 0; t < T; t++) {
        int remaining = T - t;
        i128 best = project(apples, B, P, remaining);
        int bi = -1, bj = -1;
        for (int i = 0; i < L; i++)
            for (int j = 0; j < N; j++) {
                i128 cost = (i128)C[i][j] * (P[i][j] + 1);
                if (cost > apples) continue;
                P[i][j]++;
                i128 v = project(apples - cost, B, P, remaining);
                P[i][j]--;
                if (v > best) { best = v; bi = i; bj = j; }
            }
        if (bi >= 0) {
            apples -= (i128)C[bi][bj] * (P[bi][bj] + 1);
            P[bi][bj]++;
            cout << bi << " " << bj << "\n";
        } else {
            cout << -1 << "\n";
        }
        for (int j = 0; j < N; j++) apples += (i128)A[j] * B[0][j] * P[0][j];
        for (int i = 1; i < L; i++)
            for (int j = 0; j < N; j++) B[i - 1][j] += B[i][j] * P[i][j];
    }
    return 0;
}
