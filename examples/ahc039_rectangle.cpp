// AHC039 baseline (tttd example): the best axis-parallel rectangle on a 250 x 250 grid.
// Each grid cell weighs (+1 per mackerel, -1 per sardine); a 2D maximum-sum sub-rectangle search
// (Kadane over column pairs) finds the best block of cells. Deterministic, well within 2 s.
#include <bits/stdc++.h>
using namespace std;

int main() {
    int n;
    if (!(cin >> n)) return 0;
    const int G = 250, MAXC = 100000, CELL = MAXC / G;   // 400 units per cell
    vector<vector<int>> w(G, vector<int>(G, 0));
    for (int k = 0; k < 2 * n; k++) {
        int x, y;
        cin >> x >> y;
        int cx = min(x / CELL, G - 1), cy = min(y / CELL, G - 1);
        w[cx][cy] += (k < n) ? 1 : -1;
    }
    // prefix over x for each y row: col[x1..x2][y] = sum_{x1<=x<=x2} w[x][y]
    long best = LONG_MIN;
    int bx1 = 0, bx2 = 0, by1 = 0, by2 = 0;
    vector<long> colsum(G);
    for (int x1 = 0; x1 < G; x1++) {
        fill(colsum.begin(), colsum.end(), 0);
        for (int x2 = x1; x2 < G; x2++) {
            for (int y = 0; y < G; y++) colsum[y] += w[x2][y];
            long cur = 0;
            int start = 0;
            for (int y = 0; y < G; y++) {
                if (cur <= 0) { cur = 0; start = y; }
                cur += colsum[y];
                if (cur > best) { best = cur; bx1 = x1; bx2 = x2; by1 = start; by2 = y; }
            }
        }
    }
    // cell block [bx1, bx2] x [by1, by2] -> coordinates; the upper edge sits just below the next cell
    int X1 = bx1 * CELL, X2 = min(MAXC, (bx2 + 1) * CELL - 1);
    int Y1 = by1 * CELL, Y2 = min(MAXC, (by2 + 1) * CELL - 1);
    if (X2 <= X1) X2 = X1 + 1;
    if (Y2 <= Y1) Y2 = Y1 + 1;
    cout << 4 << "\n" << X1 << " " << Y1 << "\n" << X2 << " " << Y1 << "\n"
         << X2 << " " << Y2 << "\n" << X1 << " " << Y2 << "\n";
    return 0;
}
